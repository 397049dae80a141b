/**
 * Helpers for the hardening tests: an app of its own per configuration (the shared test app
 * keeps the defaults), and raw requests for what the typed `execute` cannot send (bodies of
 * an exact size, batches, GET, other content types).
 */
import { afterAll } from 'vitest';
import { createApp, type App } from '../../../src/app.js';
import type { Config } from '../../../src/config.js';
import { createLogger } from '../../../src/lib/logger.js';
import { app } from '../../helpers/app.js';

const opened: App[] = [];
afterAll(async () => {
  await Promise.all(opened.splice(0).map((instance) => instance.close()));
});

/** An app with the test defaults plus `overrides`; closed (Redis included) after the file. */
export function appWith(overrides: Partial<Config>, logLines: string[] = []): App {
  const instance = createApp({ config: { ...app.config, ...overrides }, logger: createLogger('debug', (line) => logLines.push(line)) });
  opened.push(instance);
  return instance;
}

/** `appWith`, once its counters' store (Redis) is connected, so the tests count in it. */
export async function readyAppWith(overrides: Partial<Config>, logLines: string[] = []): Promise<App> {
  const instance = appWith(overrides, logLines);
  await instance.ready;
  return instance;
}

export type RawRequest = {
  method?: string;
  path?: string;
  body?: BodyInit | null;
  headers?: Record<string, string>;
  ip?: string;
};

export async function raw(target: Pick<App, 'yoga'>, request: RawRequest = {}): Promise<Response> {
  const init: RequestInit & { duplex?: 'half' } = {
    method: request.method ?? 'POST',
    headers: request.body === undefined || request.method === 'GET' ? request.headers : { 'content-type': 'application/json', ...request.headers },
    body: request.body,
  };
  if (request.body instanceof ReadableStream) init.duplex = 'half';
  return target.yoga.fetch(`http://keygate.test${request.path ?? '/graphql'}`, init, {
    req: { socket: { remoteAddress: request.ip ?? '127.0.0.1' } },
  });
}

export type ErrorJson = { message: string; extensions?: Record<string, unknown> };

/** POSTs `{ query, variables }` as JSON and returns the status and parsed body. */
export async function postQuery(
  target: Pick<App, 'yoga'>,
  query: string,
  options: { variables?: Record<string, unknown>; headers?: Record<string, string>; ip?: string } = {},
) {
  const response = await raw(target, { body: JSON.stringify({ query, variables: options.variables }), headers: options.headers, ip: options.ip });
  const body = (await response.json()) as { data?: Record<string, unknown> | null; errors?: ErrorJson[] };
  return { status: response.status, headers: response.headers, data: body.data, errors: body.errors };
}
