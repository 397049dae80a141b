/** Dates as UTC, minute precision: the same on every machine (and in the screenshots). */
export function dateTime(value: string | null | undefined, empty = '—'): string {
  if (!value) return empty;
  return `${value.slice(0, 10)} ${value.slice(11, 16)} UTC`;
}

export function date(value: string | null | undefined, empty = '—'): string {
  return value ? value.slice(0, 10) : empty;
}

export function enumLabel(value: string): string {
  const words = value.toLowerCase().split('_');
  return words.map((w, i) => (i === 0 ? w.charAt(0).toUpperCase() + w.slice(1) : w)).join(' ');
}
