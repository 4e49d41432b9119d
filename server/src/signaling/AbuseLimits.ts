/**
 * Bounds on what one network address or one connection can make a node hold, so that a single
 * client cannot exhaust the server or push real people out (docs/security.md). Each refusal is
 * the typed error `limit-reached` naming the setting. Counted per node: behind a load balancer
 * with N nodes an address can hold up to N × the limit.
 */
import { SignalingError } from '../protocol/index.ts';

export interface AbuseLimitSettings {
  /** Open signaling connections from one address. */
  connectionsPerIp: number;
  /** Guest handles one address may create (bind for the first time) per hour. */
  newHandlesPerIpHour: number;
  /** `room.create` calls one connection may make per hour. */
  roomCreatesPerConnectionHour: number;
  /** Rooms one connection may be in at once (echo rooms: one at a time regardless). */
  roomsPerConnection: number;
  /** `call.invite`s to handles that do not exist, per connection per hour. */
  unknownCalleesPerHour: number;
}

const HOUR_MS = 3_600_000;

/** Timestamps in a sliding one-hour window. */
class HourWindow {
  #times: number[] = [];

  count(now: number): number {
    while (this.#times.length > 0 && this.#times[0]! <= now - HOUR_MS) this.#times.shift();
    return this.#times.length;
  }

  add(now: number): void {
    this.#times.push(now);
  }
}

export class AbuseLimits {
  readonly #connections = new Map<string, number>();
  readonly #newHandles = new Map<string, HourWindow>();

  constructor(readonly settings: AbuseLimitSettings) {}

  /** Takes a connection slot for `ip`, or throws. Give it back with `connectionClosed`. */
  connectionOpened(ip: string): void {
    const n = this.#connections.get(ip) ?? 0;
    if (n >= this.settings.connectionsPerIp) {
      throw new SignalingError('limit-reached', `too many connections from your address (MAX_CONNECTIONS_PER_IP=${this.settings.connectionsPerIp})`);
    }
    this.#connections.set(ip, n + 1);
  }

  connectionClosed(ip: string): void {
    const n = (this.#connections.get(ip) ?? 1) - 1;
    if (n <= 0) this.#connections.delete(ip);
    else this.#connections.set(ip, n);
  }

  /**
   * Before a new guest handle is bound for `ip`, and after a sign-in refused as `handle-taken`
   * (which tells the client the handle exists, so it counts as a look-up too): throws past the
   * hourly limit, else counts it. One budget for both keeps handle enumeration as slow as
   * handle creation.
   */
  newHandle(ip: string, now = Date.now()): void {
    const w = this.#newHandles.get(ip) ?? new HourWindow();
    if (w.count(now) >= this.settings.newHandlesPerIpHour) {
      throw new SignalingError(
        'limit-reached',
        `too many new or taken handles tried from your address this hour (NEW_HANDLES_PER_IP_HOUR=${this.settings.newHandlesPerIpHour})`,
      );
    }
    w.add(now);
    this.#newHandles.set(ip, w);
    // Forget addresses whose window emptied, so the map cannot grow without bound.
    if (this.#newHandles.size > 10_000) for (const [k, v] of this.#newHandles) if (v.count(now) === 0) this.#newHandles.delete(k);
  }

  /** A per-connection window for `room.create`. */
  roomCreates(): (now?: number) => void {
    const w = new HourWindow();
    return (now = Date.now()) => {
      if (w.count(now) >= this.settings.roomCreatesPerConnectionHour) {
        throw new SignalingError(
          'limit-reached',
          `too many new rooms from this connection this hour (ROOM_CREATES_PER_HOUR=${this.settings.roomCreatesPerConnectionHour})`,
        );
      }
      w.add(now);
    };
  }

  /**
   * A per-connection budget for calls to handles that do not exist: `unknown-user` tells the
   * caller a handle is free, so past the budget every unknown callee answers `limit-reached`.
   */
  unknownCallees(): { check(now?: number): void; spend(now?: number): void } {
    const w = new HourWindow();
    const max = this.settings.unknownCalleesPerHour;
    return {
      check: (now = Date.now()) => {
        if (w.count(now) >= max)
          throw new SignalingError('limit-reached', `too many calls to unknown handles from this connection this hour (UNKNOWN_CALLEES_PER_HOUR=${max})`);
      },
      spend: (now = Date.now()) => w.add(now),
    };
  }

  /** Open connections per address (tests). */
  connectionsOf(ip: string): number {
    return this.#connections.get(ip) ?? 0;
  }
}
