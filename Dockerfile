# One image for both services (signaling server and TURN relay); docker-compose.yml picks the command.
FROM node:20-bookworm-slim
WORKDIR /app
# Build tools for the mediasoup worker when no prebuilt one can be downloaded (see docs).
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ openssl ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
COPY patches ./patches
COPY scripts ./scripts
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build:web
ENV NODE_ENV=production
EXPOSE 3000
CMD ["node", "--import", "tsx", "server/src/main.ts"]
