/** One load measurement with autocannon: a warm-up run (discarded), then the measured run. */
import autocannon from 'autocannon';

export type LoadSpec = {
  url: string;
  body: string;
  headers?: Record<string, string>;
  /** Varies each request (e.g. a different key per request); applied on top of `headers`. */
  pickHeaders?: () => Record<string, string>;
};

export type LoadOptions = { connections: number; durationS: number; warmupS: number };

export type Measurement = { rps: number; p50: number; p99: number; requests: number; failures: number; statusCodes: Record<string, number> };

export async function measure(spec: LoadSpec, options: LoadOptions): Promise<Measurement> {
  if (options.warmupS > 0) await run(spec, options.connections, options.warmupS);
  const result = await run(spec, options.connections, options.durationS);
  return {
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
