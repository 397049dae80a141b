/**
 * Latency at a fixed offered rate, open loop: requests leave on a schedule (rate per second,
 * spread over 1 ms ticks) whether or not earlier ones have answered, over kept-alive
 * connections, and each one's time is taken from when it was due to leave until its answer's
 * body has arrived. A slow server therefore cannot slow the schedule down and hide its own
 * slowness (coordinated omission).
 *
 * autocannon's `overallRate` is no substitute: it sends each second's share as fast as it can
 * and then waits for the next second, so its latencies measure its own bursts.
 */
import { Pool } from 'undici';

export type OpenLoopSpec = { url: string; method: 'GET' | 'POST'; body?: string; headers?: Record<string, string> };
export type OpenLoopResult = { rps: number; p50: number; p99: number; failures: number };

export async function openLoop(spec: OpenLoopSpec, rate: number, durationS: number, warmupS: number): Promise<OpenLoopResult> {
  const url = new URL(spec.url);
  const pool = new Pool(url.origin, { connections: 256 });
  const request = { path: url.pathname + url.search, method: spec.method, body: spec.body, headers: { 'content-type': 'application/json', ...spec.headers } };
  try {
    if (warmupS > 0) await schedule(pool, request, rate, warmupS);
    return await schedule(pool, request, rate, durationS);
  } finally {
    await pool.close();
  }
}

async function schedule(pool: Pool, request: Parameters<Pool['request']>[0], rate: number, durationS: number): Promise<OpenLoopResult> {
  const latencies: number[] = [];
  let failures = 0;
  const inFlight = new Set<Promise<void>>();
  const send = (dueAt: number) => {
    const done = pool
      .request(request)
      .then(async (answer) => {
        await answer.body.text();
        if (answer.statusCode !== 200) failures++;
        latencies.push(performance.now() - dueAt);
      })
      .catch(() => void failures++)
      .finally(() => inFlight.delete(done));
    inFlight.add(done);
  };
  const start = performance.now();
  const total = Math.round(rate * durationS);
  let sent = 0;
  await new Promise<void>((resolve) => {
    const tick = setInterval(() => {
      const elapsedMs = performance.now() - start;
      const due = Math.min(total, Math.floor((elapsedMs * rate) / 1000));
      // Each request is timed from its own slot in the schedule, not from this tick.
      for (; sent < due; sent++) send(start + (sent * 1000) / rate);
      if (sent >= total) {
        clearInterval(tick);
        resolve();
      }
    }, 1);
  });
  await Promise.all(inFlight);
  const elapsedS = (performance.now() - start) / 1000;
  latencies.sort((a, b) => a - b);
  const at = (q: number) => Math.round(latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]! * 10) / 10;
  return { rps: latencies.length / elapsedS, p50: at(0.5), p99: at(0.99), failures };
}
