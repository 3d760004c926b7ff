/**
 * The console's static files: our own ES modules and CSS (`src/console/ui/`)
 * and the libraries' browser builds, read from their installed packages
 * (`node_modules`) at start-up — nothing third-party is copied into the
 * repository, and there is no build step: `npm start` serves them as they are.
 *
 * Every file is served under `/console/` with:
 * - a strict Content-Security-Policy (`CSP`): scripts, styles and fetches
 *   from this origin only, no inline script or style, no eval, no framing;
 * - `nosniff`, `no-referrer`, and an ETag (`cache-control: no-cache`:
 *   revalidated on each load, answered 304 when unchanged);
 * - a brotli or gzip copy (made on the first request that takes it) for files over 1 KB.
 *
 * The one bare import specifier among the libraries (`preact/hooks` imports
 * `"preact"`) is rewritten to the relative path the file is served at; a
 * library update that adds another makes start-up fail (`bareImports`) rather
 * than a page that does not load.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, extname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';

/** The Content-Security-Policy of every console response. */
export const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** Headers every console answer carries (static files and the redirect). */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': CSP,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
};

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

export interface Asset {
  /** Path under `/console/` (`index.html`, `pages/cost.js`, `vendor/preact.mjs`). */
  path: string;
  type: string;
  body: Buffer;
  /** Compressed copies, made on first use. */
  br?: Buffer;
  gzip?: Buffer;
  etag: string;
}

/** Library files served under `vendor/`: [served name, package, file in the package, rewrites]. */
const VENDOR: ReadonlyArray<readonly [string, string, string, ReadonlyArray<readonly [string, string]>]> = [
  ['vendor/preact.mjs', 'preact', 'dist/preact.mjs', []],
  ['vendor/hooks.mjs', 'preact', 'hooks/dist/hooks.mjs', [['from"preact"', 'from"./preact.mjs"']]],
  ['vendor/htm.mjs', 'htm', 'dist/htm.mjs', []],
  ['vendor/uPlot.esm.js', 'uplot', 'dist/uPlot.esm.js', []],
  ['vendor/uPlot.min.css', 'uplot', 'dist/uPlot.min.css', []],
];

/** Bare module specifiers (`"preact"`, not `./x.js`) left in an ES module's static imports. */
export function bareImports(source: string): string[] {
  const out: string[] = [];
  for (const m of source.matchAll(/(?:\bfrom|\bimport)\s*\(?\s*["']([^"'\s]+)["']/g)) {
    const spec = m[1];
    if (!spec.startsWith('./') && !spec.startsWith('../') && !spec.startsWith('/')) out.push(spec);
  }
  return out;
}

function asset(path: string, body: Buffer): Asset {
  const type = TYPES[extname(path)];
  if (!type) throw new Error(`console: no content type for ${path}`);
  return {
    path,
    type,
    body,
    etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`,
  };
}

function walk(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const full = join(dir, name);
    if (statSync(full).isDirectory()) out.push(...walk(full));
    else out.push(full);
  }
  return out;
}

/** The folder of an installed package (its entry point resolved, then up to its package.json). */
function packageRoot(pkg: string): string {
  let dir = dirname(createRequire(import.meta.url).resolve(pkg));
  for (;;) {
    try {
      if (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).name === pkg) return dir;
    } catch {
      // no package.json here: look further up
    }
    const up = dirname(dir);
    if (up === dir) throw new Error(`console: cannot find the folder of package ${pkg}`);
    dir = up;
  }
}

/** Reads every console file once (our UI folder, then the libraries). */
export function loadAssets(
  uiDir: string = fileURLToPath(new URL('./ui/', import.meta.url)),
): Map<string, Asset> {
  const assets = new Map<string, Asset>();
  for (const file of walk(uiDir)) {
    const path = relative(uiDir, file).split(sep).join('/');
    if (!TYPES[extname(path)]) continue;
    assets.set(path, asset(path, readFileSync(file)));
  }
  for (const [served, pkg, file, rewrites] of VENDOR) {
    const root = packageRoot(pkg);
    let text = readFileSync(join(root, file), 'utf8');
    for (const [from, to] of rewrites) {
      if (!text.includes(from)) throw new Error(`console: ${pkg}/${file} no longer contains ${from}`);
      text = text.split(from).join(to);
    }
    if (served.endsWith('js')) {
      const bare = bareImports(text);
      if (bare.length > 0)
        throw new Error(`console: ${pkg}/${file} imports ${bare.join(', ')}, which a browser cannot load`);
    }
    assets.set(served, asset(served, Buffer.from(text)));
  }
  return assets;
}

/** The answer for one asset: 304 when the ETag matches, else the best encoding the browser accepts. */
export function serveAsset(
  a: Asset,
  headers: import('node:http').IncomingHttpHeaders,
): { status: number; headers: Record<string, string>; body: Buffer | string } {
  const base: Record<string, string> = {
    ...SECURITY_HEADERS,
    'content-type': a.type,
    'cache-control': 'no-cache',
    etag: a.etag,
    vary: 'accept-encoding',
  };
  if (headers['if-none-match'] === a.etag) return { status: 304, headers: base, body: '' };
  const accept = String(headers['accept-encoding'] ?? '');
  if (a.body.length > 1024 && /\bbr\b/.test(accept)) {
    a.br ??= brotliCompressSync(a.body, { params: { [constants.BROTLI_PARAM_QUALITY]: 9 } });
    return { status: 200, headers: { ...base, 'content-encoding': 'br' }, body: a.br };
  }
  if (a.body.length > 1024 && /\bgzip\b/.test(accept)) {
    a.gzip ??= gzipSync(a.body, { level: 9 });
    return { status: 200, headers: { ...base, 'content-encoding': 'gzip' }, body: a.gzip };
  }
  return { status: 200, headers: base, body: a.body };
}
