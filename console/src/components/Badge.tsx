/** A status word with a color; the word carries the meaning, the color only repeats it. */
export function Badge({ tone, children }: { tone: 'ok' | 'warn' | 'bad' | 'muted' | 'info'; children: string }) {
  return <span className={`badge badge-${tone}`}>{children}</span>;
}
