/**
 * An acknowledged write is on disk: `triggerWorkflow` answers only after the run's batch
 * committed (src/db/group-commit.ts). The real server process takes a burst of concurrent
 * triggers, is killed with SIGKILL while requests are still in flight, and after a restart
 * every run whose id was sent back is in the database, exactly as answered.
 *
 * SIGKILL proves "committed before answered"; that a commit also survives power loss rests on
 * SQLite's `synchronous = FULL` in WAL mode (checked at the end) and on PostgreSQL's default
 * `synchronous_commit = on`.
 * On PostgreSQL the server uses this worker's test database; on SQLite, this worker's file,
 * which the test process keeps open throughout (as a second process on one machine would).
 */
import { describe, expect, inject, it } from 'vitest';
import { db } from '../../../src/db.js';
import { seedTenant } from '../../helpers/seed.js';
import { getConfig } from '../../../src/config.js';
import { startServer, until, type ServerProcess } from '../hardening/server-process.js';

const TRIGGER = `mutation DurableTrigger($input: TriggerWorkflowInput!) {
  triggerWorkflow(input: $input) { id status input createdAt }
}`;

type Run = { id: string; status: string; input: { n: number }; createdAt: string };

const TOTAL = 400;
const IN_FLIGHT = 50;
const KILL_AFTER = 200;

function serverSettings(): Record<string, string> {
  return {
    DATABASE_URL: process.env.DATABASE_URL!,
    KEYGATE_ADMIN_EMAIL: getConfig().adminEmail,
    KEYGATE_ADMIN_PASSWORD: getConfig().adminPassword!,
    KEYGATE_AUTH_FAILURE_LIMIT: '0',
  };
}

/**
 * Keeps IN_FLIGHT triggers going until TOTAL were sent; SIGKILLs the server the moment
 * KILL_AFTER answers have arrived. Returns the runs that were answered with success.
 */
async function triggerUntilKilled(server: ServerProcess, apiKey: string, input: { projectId: string; workflowId: string }) {
  const acknowledged: Run[] = [];
  let next = 0;
  let answered = 0;
  const killed = { at: null as number | null };
  async function sendOne(n: number) {
    const response = await fetch(`${server.baseUrl}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': apiKey },
      body: JSON.stringify({ query: TRIGGER, variables: { input: { ...input, input: { n } } } }),
    });
    const body = (await response.json()) as { data?: { triggerWorkflow: Run } | null; errors?: unknown[] };
    if (response.ok && body.data?.triggerWorkflow && !body.errors) acknowledged.push(body.data.triggerWorkflow);
    if (++answered === KILL_AFTER) {
      server.child.kill('SIGKILL');
      killed.at = answered;
    }
  }
  async function lane() {
    while (next < TOTAL && killed.at === null) {
      // A request cut off by the kill has no answer: it was never acknowledged.
      await sendOne(next++).catch(() => {});
    }
  }
  await Promise.all(Array.from({ length: IN_FLIGHT }, lane));
  return { acknowledged, sent: next };
}

describe('durable writes', () => {
  it(
    'triggerWorkflow: every run acknowledged before a SIGKILL is in the database after restart',
    async () => {
      const seed = await seedTenant({ apiKeyLimit: 5 });
      const { secret } = await seed.createKey();
      const first = await startServer(serverSettings());

      const { acknowledged, sent } = await triggerUntilKilled(first, secret, { projectId: seed.project.id, workflowId: seed.workflow.id });
      expect(await first.exited).toMatchObject({ signal: 'SIGKILL' });
      expect(acknowledged.length).toBeGreaterThanOrEqual(KILL_AFTER - 1);
      // The kill landed while requests were still in flight, or the test would prove less.
      expect(sent).toBeGreaterThan(acknowledged.length);

      const second = await startServer(serverSettings());
      await until(second, async () => (await fetch(`${second.baseUrl}/ready`)).ok, 30_000, 'ready after the crash');

      const stored = await db.workflowRun.findMany({ where: { id: { in: acknowledged.map((run) => run.id) } } });
      const byId = new Map(stored.map((run) => [run.id, run]));
      const missing = acknowledged.filter((run) => !byId.has(run.id));
      expect(missing).toEqual([]);
      for (const run of acknowledged) {
        const row = byId.get(run.id)!;
        expect({ status: row.status, input: row.input, createdAt: row.createdAt.toISOString(), projectId: row.projectId }).toEqual({
          status: run.status,
          input: run.input,
          createdAt: run.createdAt,
          projectId: seed.project.id,
        });
      }
      // Nothing was written twice or invented: every stored run of this workflow was sent.
      const all = await db.workflowRun.findMany({ where: { workflowId: seed.workflow.id }, select: { input: true } });
      const numbers = all.map((run) => (run.input as { n: number }).n);
      expect(new Set(numbers).size).toBe(numbers.length);
      expect(numbers.every((n) => n >= 0 && n < sent)).toBe(true);
    },
    120_000,
  );

  it.runIf(inject('databaseKind') === 'sqlite')('every SQLite connection of the Prisma client runs in WAL mode with synchronous = FULL', async () => {
    const settings = async () => {
      const [mode] = await db.$queryRawUnsafe<{ journal_mode: string }[]>('PRAGMA journal_mode');
      const [sync] = await db.$queryRawUnsafe<{ synchronous: number | bigint }[]>('PRAGMA synchronous');
      return { journalMode: mode!.journal_mode, synchronous: Number(sync!.synchronous) };
    };
    expect(await settings()).toEqual({ journalMode: 'wal', synchronous: 2 });
    // An interactive transaction takes the client's connection away; the next one is new.
    await db.$transaction(async (tx) => tx.tenant.count());
    expect(await settings()).toEqual({ journalMode: 'wal', synchronous: 2 });
  });
});
