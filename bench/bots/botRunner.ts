/**
 * The bot process of the load test (forked by bench/loadtest.ts with IPC): keeps the bots' CPU
 * out of the server process being measured. Starts a BotFleet on `start`, answers `stop` with
 * every bot's statistics, closes the bots and exits. Exits on its own if the parent goes away.
 */
import { setPriority } from 'node:os';
import type { FromRunner, ToRunner } from './runnerProtocol.ts';
import { BotFleet } from './BotFleet.ts';

// Before any libwebrtc thread exists (they inherit it): the server being measured comes first.
try {
  setPriority(0, 10);
} catch {
  // not allowed here: run at normal priority
}

/** Resolves once the message is handed to the IPC channel, so exiting right after cannot lose it. */
const send = (m: FromRunner) => new Promise<void>((resolve) => (process.send ? process.send(m, undefined, {}, () => resolve()) : resolve()));
let fleet: BotFleet | null = null;

async function finish(code: number): Promise<never> {
  await fleet?.close().catch(() => {});
  // wrtc's native threads can keep the event loop alive after the last peer connection closed.
  process.exit(code);
}

process.on('message', (msg: ToRunner) => {
  if (msg.type === 'start' && !fleet) {
    fleet = new BotFleet(msg.config);
    fleet
      .start((message) => void send({ type: 'progress', message }))
      .then(
        (result) => void send({ type: 'started', result }),
        (err: Error) => void send({ type: 'fatal', message: err.message }).then(() => finish(1)),
      );
  } else if (msg.type === 'stop') {
    (fleet ? fleet.stats() : Promise.resolve([])).then(
      (bots) => void send({ type: 'stats', bots }).then(() => finish(0)),
      (err: Error) => void send({ type: 'fatal', message: `stats: ${err.message}` }).then(() => finish(1)),
    );
  }
});
process.on('disconnect', () => void finish(1));
if (!process.send) {
  console.error('bench/bots/botRunner.ts is started by bench/loadtest.ts (it needs an IPC channel)');
  process.exit(2);
}
