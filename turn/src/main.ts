// Standalone TURN relay: configuration from TURN_* environment variables (docs/turn.md),
// runs until SIGTERM/SIGINT, then closes every allocation and exits 0.
import { parseTurnEnv, TurnConfigError } from './config.ts';
import { TurnServer, type TurnLogger } from './TurnServer.ts';

const logger: TurnLogger = (level, message) => {
  const line = `${new Date().toISOString()} turn ${level}: ${message}`;
  if (level === 'error' || level === 'warn') console.error(line);
  else console.log(line);
};

async function main(): Promise<number> {
  let server: TurnServer;
  try {
    server = await TurnServer.start(parseTurnEnv(process.env), { logger });
  } catch (err) {
    if (err instanceof TurnConfigError) console.error(`callwire-turn: ${err.message}`);
    else console.error(`callwire-turn: cannot start: ${(err as Error).message}`);
    return err instanceof TurnConfigError ? 2 : 1;
  }
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
  logger('info', `${signal}: shutting down`);
  await server.close();
  return 0;
}

process.exitCode = await main();
