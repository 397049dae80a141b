/**
 * Summarizes a V8 .cpuprofile: a per-second busy timeline, then self time by package and by
 * function, heaviest first, counted only in the seconds the process was busy (a benchmark
 * server is idle between its scenarios, and its start-up is not the request path).
 * Usage: npx tsx bench/profile-summary.ts <file.cpuprofile> [top=40] [from-s] [to-s]
 */
import { readFileSync } from 'node:fs';

type Node = { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; hitCount: number; children?: number[] };
const [file, topArg, fromArg, toArg] = process.argv.slice(2);
if (!file) throw new Error('usage: profile-summary.ts <file.cpuprofile> [top]');
const profile = JSON.parse(readFileSync(file, 'utf8')) as { nodes: Node[]; samples: number[]; timeDeltas: number[] };
const top = Number(topArg ?? 40);

const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
const idle = (id: number) => nodes.get(id)!.callFrame.functionName === '(idle)';

// Sample time (s since start) → busy fraction, to find the loaded window.
const seconds: { samples: number; busy: number }[] = [];
let t = 0;
const sampleSecond = profile.samples.map((id, i) => {
  t += profile.timeDeltas[i]!;
  const second = Math.floor(t / 1e6);
  seconds[second] ??= { samples: 0, busy: 0 };
  seconds[second].samples++;
  if (!idle(id)) seconds[second].busy++;
  return second;
});
console.log('busy % per second: ' + [...seconds].map((s, i) => `${i}:${s ? Math.round((100 * s.busy) / s.samples) : 0}`).join(' '));
const from = fromArg === undefined ? -1 : Number(fromArg);
const to = toArg === undefined ? Infinity : Number(toArg);
const counted = (i: number) => {
  const second = sampleSecond[i]!;
  if (fromArg !== undefined) return second >= from && second < to;
  const s = seconds[second]!;
  return s.busy / s.samples > 0.9; // the loaded seconds
};

const byFunction = new Map<string, number>();
const byPackage = new Map<string, number>();
let total = 0;
profile.samples.forEach((id, i) => {
  if (!counted(i)) return;
  total++;
  const { functionName, url, lineNumber } = nodes.get(id)!.callFrame;
  const where = url.replace(/^file:\/\//, '').replace(/^.*?node_modules\//, 'nm:');
  add(byFunction, `${functionName || '(anonymous)'} ${where}:${lineNumber + 1}`, 1);
  add(byPackage, packageOf(url, functionName), 1);
});

print('self time by package', byPackage);
print('self time by function', byFunction);

function packageOf(url: string, functionName: string): string {
  if (!url) return functionName.startsWith('(') ? functionName : '(native/v8)';
  const match = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (match) return match[1]!;
  if (url.startsWith('node:')) return url;
  if (url.includes('/src/')) return 'keygate src/' + url.split('/src/')[1]!.split('/')[0];
  return url;
}

function add(map: Map<string, number>, key: string, value: number) {
  map.set(key, (map.get(key) ?? 0) + value);
}

function print(title: string, map: Map<string, number>) {
  console.log(`\n## ${title} (${total} samples)`);
  for (const [key, hits] of [...map].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    console.log(`${((hits / total) * 100).toFixed(1).padStart(5)}%  ${key}`);
  }
}
