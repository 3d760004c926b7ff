/**
 * Audit fixtures are materialised into a fresh git repository in a temp dir,
 * so `git ls-files` semantics (tracked, ignored) are exercised for real.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const FIXTURES = new URL('./fixtures/audit/', import.meta.url).pathname;

export function git(dir: string, ...args: string[]): string {
  return execFileSync(
    'git',
    ['-c', 'user.email=audit@test', '-c', 'user.name=audit', '-c', 'commit.gpgsign=false', ...args],
    { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] },
  ).toString();
}

/** A copy of a fixture project in a temp dir, committed to a new git repo (unless git: false). */
export function materialize(name: string, opts: { git?: boolean } = {}): string {
  const dir = mkdtempSync(join(tmpdir(), `gantry-audit-${name}-`));
  cpSync(join(FIXTURES, name), dir, { recursive: true });
  if (opts.git !== false) {
    git(dir, 'init', '-q');
    git(dir, 'add', '-A');
    git(dir, 'commit', '-qm', 'fixture');
  }
  return dir;
}

/** A made-up credential that looks real (mixed case, digits, high entropy); `seed` makes it repeatable. */
export function lookalikeKey(seed: number): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  let x = seed * 2654435761 + 1;
  let body = '';
  for (let i = 0; i < 86; i++) {
    x = (x * 1103515245 + 12345) % 2147483648;
    body += alphabet[Math.floor(x / 65536) % alphabet.length];
  }
  return `sk-ant-api03-${body}-AA`;
}
