// Side-effect only: sets process.env.MEDIASOUP_WORKER_BIN (see register.mjs).
export {};
