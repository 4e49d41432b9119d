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

/** At most `max` uses in any sliding hour; past it, `limit-reached` with `message`. */
export class HourlyBudget {
  #times: number[] = [];

  constructor(
    private readonly max: number,
    private readonly message: string,
  ) {}

  /** Uses in the last hour. */
  used(now = Date.now()): number {
    while (this.#times.length > 0 && this.#times[0]! <= now - HOUR_MS) this.#times.shift();
    return this.#times.length;
  }

  /** Throws when the budget is spent. */
  check(now = Date.now()): void {
    if (this.used(now) >= this.max) throw new SignalingError('limit-reached', this.message);
  }

  spend(now = Date.now()): void {
    this.#times.push(now);
  }

  /** check, then spend. */
  take(now = Date.now()): void {
    this.check(now);
    this.spend(now);
  }
}

export class AbuseLimits {
  readonly #connections = new Map<string, number>();
  readonly #newHandles = new Map<string, HourlyBudget>();

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
    const max = this.settings.newHandlesPerIpHour;
    const budget =
      this.#newHandles.get(ip) ?? new HourlyBudget(max, `too many new or taken handles tried from your address this hour (NEW_HANDLES_PER_IP_HOUR=${max})`);
    budget.take(now);
    this.#newHandles.set(ip, budget);
    // Forget addresses whose window emptied, so the map cannot grow without bound.
    if (this.#newHandles.size > 10_000) for (const [k, v] of this.#newHandles) if (v.used(now) === 0) this.#newHandles.delete(k);
  }

  /** A per-connection budget for `room.create` (take one per call). */
  roomCreates(): HourlyBudget {
    const max = this.settings.roomCreatesPerConnectionHour;
    return new HourlyBudget(max, `too many new rooms from this connection this hour (ROOM_CREATES_PER_HOUR=${max})`);
  }

  /**
   * A per-connection budget for calls to handles that do not exist: `unknown-user` tells the
   * caller a handle is free, so past the budget every call answers `limit-reached` (check before
   * the call, spend after an `unknown-user`).
   */
  unknownCallees(): HourlyBudget {
    const max = this.settings.unknownCalleesPerHour;
    return new HourlyBudget(max, `too many calls to unknown handles from this connection this hour (UNKNOWN_CALLEES_PER_HOUR=${max})`);
  }

  /** Open connections per address (tests). */
  connectionsOf(ip: string): number {
    return this.#connections.get(ip) ?? 0;
  }
}
