/**
 * ioredis connections as callwire uses them: commands fail at once while Redis is unreachable
 * (no offline queue, so a request gets a typed `unavailable` instead of hanging), and the client
 * reconnects by itself, forever, with a capped back-off.
 */
import { Redis } from 'ioredis';
import { StoreError } from './StateStore.ts';

export interface RedisOptions {
  /** How long the first connection may take before start-up fails. */
  connectTimeoutMs?: number;
  onError?: (err: Error) => void;
}

export async function connectRedis(url: string, options: RedisOptions = {}): Promise<Redis> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new StoreError('unavailable', `REDIS_URL "${url}" is not a URL (redis://host:port)`);
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:')
    throw new StoreError('unavailable', `REDIS_URL must start with redis:// or rediss:// (got ${parsed.protocol})`);
  const redis = new Redis(url, {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: options.connectTimeoutMs ?? 5_000,
    retryStrategy: (times) => Math.min(100 * times, 2_000),
  });
  // Without a listener ioredis reports every failed reconnect as an unhandled 'error' event.
  redis.on('error', (err: Error) => options.onError?.(err));
  try {
    await redis.connect();
    await redis.ping();
  } catch (err) {
    redis.disconnect();
    throw new StoreError('unavailable', `cannot reach Redis at ${parsed.host}: ${(err as Error).message}`);
  }
  return redis;
}
