/**
 * A small structured logger (one JSON object per line on stderr). Callers log ids and
 * prefixes, never secrets, tokens or whole key rows; `sink` lets tests read every line.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';
const rank: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 99 };

export type Logger = Record<Exclude<LogLevel, 'silent'>, (message: string, fields?: Record<string, unknown>) => void>;

export function createLogger(level: LogLevel, sink: (line: string) => void = (line) => process.stderr.write(line + '\n')): Logger {
  const at =
    (lineLevel: Exclude<LogLevel, 'silent'>) =>
    (message: string, fields: Record<string, unknown> = {}) => {
      if (rank[lineLevel] < rank[level]) return;
      sink(JSON.stringify({ time: new Date().toISOString(), level: lineLevel, message, ...fields }, errorReplacer));
    };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

function errorReplacer(_key: string, value: unknown) {
  return value instanceof Error ? { name: value.name, message: value.message, stack: value.stack } : value;
}
