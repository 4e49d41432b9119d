/**
 * The operator's view of /healthz in tests: every test server gets this METRICS_TOKEN, and
 * `healthDetails` asks with it (without it, /healthz answers liveness only).
 */
export const TEST_METRICS_TOKEN = 'test-metrics-token-0123456789';

export interface HealthDetails {
  ok: boolean;
  node?: string;
  online?: number;
  rooms?: number;
  calls?: number;
  sfu?: { workers: number; rooms: number } | null;
  [key: string]: unknown;
}

/** GET /healthz with the metrics token: the status and the details. */
export async function healthDetails(url: string, timeoutMs = 5_000): Promise<{ status: number; body: HealthDetails }> {
  const res = await fetch(`${url}/healthz`, { headers: { authorization: `Bearer ${TEST_METRICS_TOKEN}` }, signal: AbortSignal.timeout(timeoutMs) });
  return { status: res.status, body: (await res.json()) as HealthDetails };
}
