/** One load measurement with autocannon: a warm-up run (discarded), then the measured run. */
import { readFileSync } from 'node:fs';
import autocannon from 'autocannon';

export type LoadSpec = {
  url: string;
  body: string;
  headers?: Record<string, string>;
  /** Varies each request (e.g. a different key per request); applied on top of `headers`. */
  pickHeaders?: () => Record<string, string>;
  /** The server's pid: its CPU time per request is measured too (Linux /proc). */
  serverPid?: number;
};

export type LoadOptions = { connections: number; durationS: number; warmupS: number };

export type Measurement = {
  rps: number;
  p50: number;
  p99: number;
  requests: number;
  failures: number;
  statusCodes: Record<string, number>;
  /**
   * The server process's CPU time (user + system) per request in µs, when its pid is known.
   * Steadier than req/s on a shared machine: other processes' load slows the server down
   * but does not make its requests cost more CPU (much).
   */
  cpuUsPerRequest?: number;
};

export async function measure(spec: LoadSpec, options: LoadOptions): Promise<Measurement> {
  if (options.warmupS > 0) await run(spec, options.connections, options.warmupS);
  const cpuBefore = spec.serverPid ? cpuSeconds(spec.serverPid) : null;
  const result = await run(spec, options.connections, options.durationS);
  const cpuAfter = spec.serverPid ? cpuSeconds(spec.serverPid) : null;
  return {
    ...(cpuBefore !== null && cpuAfter !== null && result.requests.total > 0
      ? { cpuUsPerRequest: ((cpuAfter - cpuBefore) * 1e6) / result.requests.total }
      : {}),
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    requests: result.requests.total,
    failures: result.non2xx + result.errors + result.timeouts,
    statusCodes: Object.fromEntries(Object.entries(result.statusCodeStats ?? {}).map(([code, { count }]) => [code, count])),
  };
}

function run(spec: LoadSpec, connections: number, duration: number) {
  const headers = { 'content-type': 'application/json', ...spec.headers };
  const pick = spec.pickHeaders;
  return autocannon({
    url: `${spec.url}/graphql`,
    connections,
    duration,
    timeout: 10,
    requests: [
      {
        method: 'POST',
        headers,
        body: spec.body,
        ...(pick ? { setupRequest: (request) => ({ ...request, headers: { ...headers, ...pick() } }) } : {}),
      },
    ],
  });
}

/** utime + stime of a process, in seconds (fields 14 and 15 of /proc/<pid>/stat, in clock ticks of 1/100 s). */
export function cpuSeconds(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return null;
  }
}
