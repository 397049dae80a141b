import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/** Writes a benchmark's report to `--out`, creating its directory: a run is too long to lose to a missing folder. */
export function writeReport(file: string, report: string): void {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, report);
}
