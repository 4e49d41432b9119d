/** `npm start` entry point: configuration from the environment, then the server. */
import { CallwireServer } from './CallwireServer.ts';
import { ConfigError, loadConfig } from './config.ts';
import { StoreError } from './store/StateStore.ts';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`callwire: ${err.message}`);
      process.exit(2);
    }
    throw err;
  }
  const server = new CallwireServer(config);
  try {
    await server.start();
  } catch (err) {
    // The store (a data file, or Redis) comes first; then the port.
    const why =
      err instanceof StoreError ? `cannot open its store: ${err.message}` : `cannot listen on ${config.host}:${config.port}: ${(err as Error).message}`;
    console.error(`callwire: ${why}`);
    await server.close().catch(() => {});
    process.exit(1);
  }
  console.log(`callwire is running: open ${server.url}`);

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    server.logger.info(`${signal}: shutting down`);
    const force = setTimeout(() => process.exit(1), 5_000);
    force.unref();
    void server.close().then(() => process.exit(0));
  };
  // A fault in a library callback must not take every call on this node down with it.
  process.on('unhandledRejection', (reason) => server.logger.error(`unhandled rejection: ${reason instanceof Error ? reason.stack : String(reason)}`));
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

void main();
