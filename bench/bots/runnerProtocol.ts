/** Messages between bench/loadtest.ts and the bot process it forks (bench/bots/botRunner.ts). */
import type { BotStats } from './Bot.ts';
import type { FleetConfig, FleetStartResult } from './BotFleet.ts';

export type ToRunner = { type: 'start'; config: FleetConfig } | { type: 'stop' };

export type FromRunner =
  | { type: 'progress'; message: string }
  | { type: 'started'; result: FleetStartResult }
  | { type: 'stats'; bots: BotStats[] }
  | { type: 'fatal'; message: string };
