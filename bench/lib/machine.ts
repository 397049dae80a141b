/** The machine a result was measured on, for the results table. */
import { execFileSync } from 'node:child_process';
import os from 'node:os';

export function describeMachine(): string[] {
  const memory = (() => {
    try {
      return execFileSync('free', ['-h'], { encoding: 'utf8' }).trim();
    } catch {
      return `${(os.totalmem() / 2 ** 30).toFixed(1)} GiB total`;
    }
  })();
  return [
    `- CPU: ${os.cpus()[0]?.model ?? 'unknown'}, \`nproc\` = ${os.availableParallelism()}`,
    `- Node ${process.version} on ${os.type()} ${os.release()}`,
    `- load average when the run started (1/5/15 min): ${os.loadavg().map((l) => l.toFixed(2)).join(' / ')}`,
    '- `free -h`:',
    '',
    '```',
    memory,
    '```',
  ];
}
