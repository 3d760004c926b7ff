/**
 * Which files the audit reads.
 *
 * In a git work tree: `git ls-files --cached --others --exclude-standard`,
 * i.e. tracked files plus untracked files that are not ignored (a new file
 * about to be committed is audited; an ignored local `.env` is not). Outside
 * git: a directory walk that skips dependency and build folders. Files larger
 * than MAX_FILE_BYTES or that look binary are skipped by the reader.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join, relative, sep } from 'node:path';

const SKIP_DIRS = new Set([
  'node_modules',
  '.git',
  'dist',
  'build',
  'venv',
  '.venv',
  '__pycache__',
  '.tox',
  '.mypy_cache',
  'coverage',
  '.next',
]);

export const MAX_FILE_BYTES = 1024 * 1024;

export interface FileList {
  root: string;
  /** Paths relative to root, with forward slashes. */
  files: string[];
  /** How the list was made. */
  source: 'git' | 'walk';
}

export function listFiles(root: string): FileList {
  const git = gitFiles(root);
  if (git)
    return { root, files: git.filter((f) => !f.split('/').some((p) => SKIP_DIRS.has(p))), source: 'git' };
  return { root, files: walk(root), source: 'walk' };
}

function gitFiles(root: string): string[] | undefined {
  try {
    const inside = execFileSync('git', ['rev-parse', '--is-inside-work-tree'], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'ignore'],
    })
      .toString()
      .trim();
    if (inside !== 'true') return undefined;
    const out = execFileSync(
      'git',
      ['ls-files', '-z', '--cached', '--others', '--exclude-standard', '--', '.'],
      {
        cwd: root,
        stdio: ['ignore', 'pipe', 'ignore'],
        maxBuffer: 256 * 1024 * 1024,
      },
    );
    // ls-files prints paths relative to cwd (root), which is what we want.
    return [...new Set(out.toString('utf8').split('\0').filter(Boolean))].sort();
  } catch {
    return undefined;
  }
}

function walk(root: string): string[] {
  const out: string[] = [];
  const stack = [root];
  while (stack.length > 0) {
    const dir = stack.pop() as string;
    let entries: import('node:fs').Dirent[];
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      continue;
    }
    for (const e of entries) {
      if (e.isDirectory()) {
        if (!SKIP_DIRS.has(e.name)) stack.push(join(dir, e.name));
      } else if (e.isFile()) {
        out.push(relative(root, join(dir, e.name)).split(sep).join('/'));
      }
    }
  }
  return out.sort();
}

/** True when the first bytes contain a NUL: treated as binary. */
export function looksBinary(buf: Buffer): boolean {
  const n = Math.min(buf.length, 8000);
  for (let i = 0; i < n; i++) if (buf[i] === 0) return true;
  return false;
}
