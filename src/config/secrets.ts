/**
 * Secret references and the live handles behind them.
 *
 * gantry.yaml never holds a secret, only a reference to one:
 *
 * - `env:NAME`          read once, when the handle opens.
 * - `file:/path`        read when the handle opens, then re-read whenever the file
 *                       changes (rotation without a restart). Works with atomic
 *                       rename-replace and Kubernetes secret volumes.
 * - `exec:command args` runs the command (no shell) and takes its trimmed stdout;
 *                       re-run every `secrets.exec_refresh_ms`.
 *
 * Contract: `value()` is synchronous and cheap (it is called on the request
 * path); refreshing happens in the background on unref'd timers, and a failed
 * refresh keeps the last good value. No secret value is ever logged or put in
 * an error message: logs carry the reference and what happened, nothing else.
 */

import { type ChildProcess, execFile } from 'node:child_process';
import { type FSWatcher, readFileSync, statSync, watch } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import { parseSecretRef, type SecretKind } from './refs.ts';
import type { SecretRefSpec } from './types.ts';

/** A live secret. */
export interface SecretHandle {
  /** The reference it was opened from, e.g. `env:ANTHROPIC_API_KEY`. Safe to log. */
  readonly spec: string;
  readonly kind: SecretKind;
  /** The current value, or `undefined` when it has none (yet). Synchronous and cheap. */
  value(): string | undefined;
  /**
   * Why the last read failed (`not set`, `file not found`, `exited with code 1`…),
   * or `undefined` after a good read. Never contains the value. When a refresh
   * fails while an older value is kept, `value()` is set and this says why the
   * refresh failed.
   */
  problem(): string | undefined;
  /** Settles once the first read has finished (success or not); never rejects. */
  readonly ready: Promise<void>;
  /** Stops watching and refreshing; `value()` keeps returning the last value. */
  close(): void;
}

/** The part of a pino logger secrets use. */
export interface SecretLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface OpenSecretOptions {
  /** Where `env:` references are looked up and the environment of `exec:` commands (default `process.env`). */
  env?: NodeJS.ProcessEnv;
  /** How often an `exec:` command is re-run, ms (default 300000). */
  execRefreshMs?: number;
  /** Longest an `exec:` command may run, ms; it is killed after (default 10000). */
  execTimeoutMs?: number;
  /** How often a `file:` secret is stat'ed in case a change event was missed, ms (default 2000). */
  filePollMs?: number;
  /** Relative `file:` paths resolve against this (default `process.cwd()`). */
  cwd?: string;
  /** Told when a value appears, changes, or a refresh fails. Never given the value. */
  logger?: SecretLogger;
  /** Called after the value changed (not for the first read). */
  onChange?: (handle: SecretHandle) => void;
}

const DEFAULT_EXEC_REFRESH_MS = 300_000;
const DEFAULT_EXEC_TIMEOUT_MS = 10_000;
const DEFAULT_FILE_POLL_MS = 2_000;
const EXEC_MAX_OUTPUT = 1 << 20;

const noopLogger: SecretLogger = { info() {}, warn() {} };

function fsProblem(err: unknown): string {
  const code = (err as NodeJS.ErrnoException)?.code;
  if (code === 'ENOENT') return 'file not found';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  if (code === 'EISDIR') return 'is a directory';
  return code ? `cannot read (${code})` : 'cannot read';
}

/**
 * Opens a live handle on a secret reference. Throws `SecretRefError` for a
 * malformed reference (config validation rules those out first).
 *
 * @example
 * const key = openSecret('file:/run/secrets/anthropic', { logger });
 * await key.ready;
 * fetch(url, { headers: { 'x-api-key': key.value() ?? '' } });
 */
export function openSecret(spec: SecretRefSpec, opts: OpenSecretOptions = {}): SecretHandle {
  const ref = parseSecretRef(spec);
  switch (ref.kind) {
    case 'env':
      return new EnvSecret(spec, ref.name, opts);
    case 'file':
      return new FileSecret(spec, resolve(opts.cwd ?? process.cwd(), ref.path), opts);
    case 'exec':
      return new ExecSecret(spec, ref.argv, opts);
  }
}

class EnvSecret implements SecretHandle {
  readonly spec: string;
  readonly kind = 'env' as const;
  readonly ready: Promise<void> = Promise.resolve();
  readonly #value: string | undefined;

  constructor(spec: string, name: string, opts: OpenSecretOptions) {
    this.spec = spec;
    const raw = (opts.env ?? process.env)[name]?.trim();
    this.#value = raw ? raw : undefined;
  }

  value(): string | undefined {
    return this.#value;
  }

  problem(): string | undefined {
    return this.#value === undefined ? 'not set' : undefined;
  }

  close(): void {}
}

/**
 * Why both a directory watch and a poll: `fs.watch` on the file itself stops
 * seeing changes once the file is replaced by rename (the usual atomic write,
 * and how Kubernetes swaps its `..data` symlink), so we watch the directory.
 * Watches can still miss events (network file systems, some containers, a
 * symlink into another directory), so a cheap stat poll backs them up.
 */
class FileSecret implements SecretHandle {
  readonly spec: string;
  readonly kind = 'file' as const;
  readonly ready: Promise<void> = Promise.resolve();
  readonly #path: string;
  readonly #logger: SecretLogger;
  readonly #onChange: ((handle: SecretHandle) => void) | undefined;
  #value: string | undefined;
  #problem: string | undefined;
  #signature = '';
  #watcher: FSWatcher | undefined;
  #timer: NodeJS.Timeout | undefined;
  #reading = false;
  #readAgain = false;
  #closed = false;

  constructor(spec: string, path: string, opts: OpenSecretOptions) {
    this.spec = spec;
    this.#path = path;
    this.#logger = opts.logger ?? noopLogger;
    this.#onChange = opts.onChange;
    this.#signature = this.#statSync();
    try {
      const text = readFileSync(path, 'utf8').trim();
      if (text) this.#value = text;
      else this.#problem = 'file is empty';
    } catch (err) {
      this.#problem = fsProblem(err);
    }
    if (this.#problem) this.#logger.warn({ secret: spec, problem: this.#problem }, 'secret has no value');
    this.#watch();
    this.#timer = setInterval(() => this.#poll(), opts.filePollMs ?? DEFAULT_FILE_POLL_MS);
    this.#timer.unref();
  }

  value(): string | undefined {
    return this.#value;
  }

  problem(): string | undefined {
    return this.#problem;
  }

  close(): void {
    this.#closed = true;
    clearInterval(this.#timer);
    this.#watcher?.close();
    this.#watcher = undefined;
  }

  #watch(): void {
    const name = basename(this.#path);
    try {
      const watcher = watch(dirname(this.#path), { persistent: false }, (_event, filename) => {
        // `..data` and friends: the Kubernetes secret volume's atomic swap.
        if (filename === null || filename === name || String(filename).startsWith('..')) this.#reread();
      });
      watcher.on('error', () => {
        watcher.close();
        if (this.#watcher === watcher) this.#watcher = undefined;
      });
      this.#watcher = watcher;
    } catch {
      // The directory may not exist yet; the poll notices when the file appears.
    }
  }

  #statSync(): string {
    try {
      const s = statSync(this.#path);
      return `${s.ino}:${s.size}:${s.mtimeMs}:${s.ctimeMs}`;
    } catch (err) {
      return `error:${(err as NodeJS.ErrnoException).code}`;
    }
  }

  async #poll(): Promise<void> {
    let signature: string;
    try {
      const s = await stat(this.#path);
      signature = `${s.ino}:${s.size}:${s.mtimeMs}:${s.ctimeMs}`;
    } catch (err) {
      signature = `error:${(err as NodeJS.ErrnoException).code}`;
    }
    if (signature !== this.#signature) {
      this.#signature = signature;
      this.#reread();
    }
    if (!this.#watcher && !this.#closed) this.#watch();
  }

  /** Re-reads the file; concurrent triggers coalesce into one more read. */
  async #reread(): Promise<void> {
    if (this.#closed) return;
    if (this.#reading) {
      this.#readAgain = true;
      return;
    }
    this.#reading = true;
    try {
      do {
        this.#readAgain = false;
        let text: string | undefined;
        let problem: string | undefined;
        try {
          text = (await readFile(this.#path, 'utf8')).trim();
          if (!text) problem = 'file is empty';
        } catch (err) {
          problem = fsProblem(err);
        }
        if (this.#closed) return;
        if (problem) {
          if (problem !== this.#problem) {
            this.#logger.warn(
              { secret: this.spec, problem, keptPrevious: this.#value !== undefined },
              this.#value === undefined
                ? 'secret has no value'
                : 'secret re-read failed; keeping the last good value',
            );
          }
          this.#problem = problem;
        } else if (text !== undefined) {
          this.#problem = undefined;
          if (text !== this.#value) {
            const first = this.#value === undefined;
            this.#value = text;
            this.#logger.info({ secret: this.spec }, first ? 'secret is now available' : 'secret changed');
            this.#onChange?.(this);
          }
        }
      } while (this.#readAgain && !this.#closed);
    } finally {
      this.#reading = false;
    }
  }
}

class ExecSecret implements SecretHandle {
  readonly spec: string;
  readonly kind = 'exec' as const;
  readonly ready: Promise<void>;
  readonly #argv: string[];
  readonly #env: NodeJS.ProcessEnv;
  readonly #refreshMs: number;
  readonly #timeoutMs: number;
  readonly #logger: SecretLogger;
  readonly #onChange: ((handle: SecretHandle) => void) | undefined;
  #value: string | undefined;
  #problem: string | undefined;
  #child: ChildProcess | undefined;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(spec: string, argv: string[], opts: OpenSecretOptions) {
    this.spec = spec;
    this.#argv = argv;
    this.#env = opts.env ?? process.env;
    this.#refreshMs = opts.execRefreshMs ?? DEFAULT_EXEC_REFRESH_MS;
    this.#timeoutMs = opts.execTimeoutMs ?? DEFAULT_EXEC_TIMEOUT_MS;
    this.#logger = opts.logger ?? noopLogger;
    this.#onChange = opts.onChange;
    this.ready = this.#run();
  }

  value(): string | undefined {
    return this.#value;
  }

  problem(): string | undefined {
    return this.#problem;
  }

  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#child?.kill('SIGKILL');
  }

  #run(): Promise<void> {
    return new Promise<void>((done) => {
      let child: ChildProcess;
      try {
        child = execFile(
          this.#argv[0],
          this.#argv.slice(1),
          {
            env: this.#env,
            timeout: this.#timeoutMs,
            killSignal: 'SIGKILL',
            maxBuffer: EXEC_MAX_OUTPUT,
            encoding: 'utf8',
            windowsHide: true,
          },
          (err, stdout) => {
            this.#child = undefined;
            if (this.#closed) return done();
            const problem = err ? this.#describe(err) : stdout.trim() ? undefined : 'printed nothing';
            this.#settle(problem, problem ? undefined : stdout.trim());
            this.#schedule();
            done();
          },
        );
      } catch (err) {
        this.#settle(this.#describe(err as Error), undefined);
        this.#schedule();
        return done();
      }
      // Our stdin is not the command's business: close it so nothing waits on it.
      child.stdin?.end();
      this.#child = child;
    });
  }

  #describe(err: Error & { code?: unknown; killed?: boolean; signal?: unknown }): string {
    if (err.code === 'ENOENT') return `command not found: ${this.#argv[0]}`;
    if (err.code === 'EACCES') return `command not executable: ${this.#argv[0]}`;
    if (err.code === 'ERR_CHILD_PROCESS_STDIO_MAXBUFFER') return 'printed more than 1 MiB';
    // `killed` means execFile itself killed the command, and it only does so on timeout.
    if (err.killed) return `timed out after ${this.#timeoutMs} ms`;
    if (typeof err.code === 'number') return `exited with code ${err.code}`;
    if (typeof err.signal === 'string') return `killed by ${err.signal}`;
    return 'failed to run';
  }

  #settle(problem: string | undefined, value: string | undefined): void {
    if (problem) {
      if (problem !== this.#problem) {
        this.#logger.warn(
          { secret: this.spec, problem, keptPrevious: this.#value !== undefined },
          this.#value === undefined
            ? 'secret has no value'
            : 'secret refresh failed; keeping the last good value',
        );
      }
      this.#problem = problem;
      return;
    }
    this.#problem = undefined;
    if (value !== undefined && value !== this.#value) {
      const first = this.#value === undefined;
      this.#value = value;
      if (!first) {
        this.#logger.info({ secret: this.spec }, 'secret changed');
        this.#onChange?.(this);
      }
    }
  }

  #schedule(): void {
    if (this.#closed) return;
    this.#timer = setTimeout(() => this.#run(), this.#refreshMs);
    this.#timer.unref();
  }
}
