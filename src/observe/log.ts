/**
 * Structured logging (pino): one JSON line per request with metadata only.
 *
 * What is never logged: prompt or completion content, request or response
 * bodies, headers (so no key and no auth header), error messages that may
 * quote a body (JSON parse errors do). The per-request line is built from an
 * explicit list of fields; redaction paths are a second line of defence for
 * anything logged elsewhere.
 */
import pino, { type DestinationStream, type Logger } from 'pino';
import type { LoggingConfig } from '../config/types.ts';

const REDACT_PATHS = [
  'headers',
  'req.headers',
  'res.headers',
  '*.headers',
  'authorization',
  '*.authorization',
  'apiKey',
  '*.apiKey',
  '["x-api-key"]',
  '*["x-api-key"]',
  'key',
  '*.key',
  'body',
  '*.body',
  'messages',
  '*.messages',
  'system',
  '*.system',
];

/** Log lines are written in batches of at least this many bytes... */
const LOG_BATCH_BYTES = 4096;
/** ...or at least this often. */
const LOG_FLUSH_MS = 250;

export function createLogger(config: LoggingConfig, destination?: DestinationStream): Logger {
  // Lines are written in batches of at least 4 KiB, and at least every 250 ms: one write per
  // line costs a few microseconds per request at thousands of requests per second.
  const batched = (dest: number | string) =>
    pino.destination({ dest, sync: false, minLength: LOG_BATCH_BYTES, mkdir: typeof dest === 'string' });
  const own = destination
    ? undefined
    : batched(config.destination === 'stdout' ? 1 : config.destination === 'stderr' ? 2 : config.destination);
  if (own) {
    setInterval(() => {
      try {
        own.flush();
      } catch {
        // a write in flight: the next tick takes the lines
      }
    }, LOG_FLUSH_MS).unref();
  }
  const dest = destination ?? own!;
  return pino(
    {
      level: config.level,
      base: { service: 'gantry' },
      timestamp: isoTimestamp,
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    },
    dest,
  );
}

// pino's isoTime builds a Date and an ISO string per line; the same text is made here from a
// per-second prefix and the milliseconds (a line per request makes this measurable).
let isoSecond = -1;
let isoPrefix = '';
/** `,"time":"2026-11-28T03:01:20.123Z"`: the same text as pino.stdTimeFunctions.isoTime. */
export function isoTimestamp(): string {
  const now = Date.now();
  const second = Math.floor(now / 1000);
  if (second !== isoSecond) {
    isoSecond = second;
    isoPrefix = new Date(second * 1000).toISOString().slice(0, 20);
  }
  const ms = now - second * 1000;
  return `,"time":"${isoPrefix}${ms < 10 ? '00' : ms < 100 ? '0' : ''}${ms}Z"`;
}

type LineLevel = 'info' | 'warn' | 'error';

/**
 * A writer of one kind of line to a logger's destination, for the per-request
 * line: `fields` are serialised with JSON.stringify and framed exactly as the
 * logger frames its own lines (level, time, bindings, fields, msg), skipping
 * pino's generic serialisation and its redaction (the request line is built
 * field by field from metadata; pino would cost more than the rest of the line).
 * Lines go through the same destination, so their order with other lines holds.
 */
export function lineWriter(logger: Logger): (level: LineLevel, fields: object, msg: string) => void {
  const l = logger as unknown as Record<symbol, unknown>;
  const stream = l[pino.symbols.streamSym] as { write(s: string): unknown };
  const time = l[pino.symbols.timeSym] as () => string;
  const bindings = (l[pino.symbols.chindingsSym] as string | undefined) ?? '';
  return (level, fields, msg) => {
    if (!logger.isLevelEnabled(level)) return;
    const body = JSON.stringify(fields);
    stream.write(
      `{"level":"${level}"${time()}${bindings}${body.length > 2 ? `,${body.slice(1, -1)}` : ''},"msg":${JSON.stringify(msg)}}\n`,
    );
  };
}

/** Flushes an async destination (on shutdown). */
export function flushLogger(logger: Logger): Promise<void> {
  return new Promise((resolve) => {
    try {
      logger.flush(() => resolve());
    } catch {
      resolve();
    }
  });
}

/** A safe description of an error for a log line: name and code, never a message that could quote content. */
export function describeError(err: unknown): Record<string, unknown> {
  if (err === null || typeof err !== 'object') return { kind: typeof err };
  const e = err as { name?: unknown; code?: unknown; cause?: unknown };
  const out: Record<string, unknown> = { name: e.name };
  if (e.code !== undefined) out.code = e.code;
  if (e.cause && typeof e.cause === 'object') {
    const c = e.cause as { name?: unknown; code?: unknown };
    out.cause = { name: c.name, code: c.code };
  }
  return out;
}
