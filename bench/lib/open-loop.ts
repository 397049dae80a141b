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
  const [result] = await openLoopAlternating([spec], rate, durationS, warmupS);
  return result!;
}

/**
 * Several specs in one schedule: request n goes to spec n mod k, so each is offered rate ÷ k
 * and every spec meets the same moments of the machine. On a shared machine whose stalls
 * come and go from one second to the next, two paths measured one after the other differ by
 * whatever the machine did meanwhile; measured alternately, they differ by their own latency.
 */
export async function openLoopAlternating(specs: OpenLoopSpec[], rate: number, durationS: number, warmupS: number): Promise<OpenLoopResult[]> {
  const targets = specs.map((spec) => {
    const url = new URL(spec.url);
    const pool = new Pool(url.origin, { connections: 256 });
    const request = { path: url.pathname + url.search, method: spec.method, body: spec.body, headers: { 'content-type': 'application/json', ...spec.headers } };
    return { pool, request };
  });
  try {
    if (warmupS > 0) await schedule(targets, rate, warmupS);
    return await schedule(targets, rate, durationS);
  } finally {
    await Promise.all(targets.map(({ pool }) => pool.close()));
  }
}

type Target = { pool: Pool; request: Parameters<Pool['request']>[0] };

async function schedule(targets: Target[], rate: number, durationS: number): Promise<OpenLoopResult[]> {
  const latencies = targets.map(() => [] as number[]);
  const failures = targets.map(() => 0);
  const inFlight = new Set<Promise<void>>();
  const send = (index: number, dueAt: number) => {
    const { pool, request } = targets[index]!;
    const done = pool
      .request(request)
      .then(async (answer) => {
        await answer.body.text();
        if (answer.statusCode !== 200) failures[index]!++;
        latencies[index]!.push(performance.now() - dueAt);
      })
      .catch(() => void failures[index]!++)
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
      for (; sent < due; sent++) send(sent % targets.length, start + (sent * 1000) / rate);
      if (sent >= total) {
        clearInterval(tick);
        resolve();
      }
    }, 1);
  });
  await Promise.all(inFlight);
  const elapsedS = (performance.now() - start) / 1000;
  return latencies.map((own, index) => {
    own.sort((a, b) => a - b);
    const at = (q: number) => Math.round(own[Math.min(own.length - 1, Math.floor(q * own.length))]! * 10) / 10;
    return { rps: own.length / elapsedS, p50: at(0.5), p99: at(0.99), failures: failures[index]! };
  });
}
