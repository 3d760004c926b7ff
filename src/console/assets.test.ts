import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { bareImports, CSP, loadAssets, serveAsset } from './assets.ts';

const assets = loadAssets();

test('bare specifiers are found; relative ones are not', () => {
  assert.deepEqual(bareImports(`import{a}from"preact";import x from './y.js';export*from"../z.mjs"`), [
    'preact',
  ]);
  assert.deepEqual(bareImports(`const m = await import ( "htm" ); import "/abs.js";`), ['htm']);
  assert.deepEqual(bareImports('// a comment that says import then, "much later", a string'), []);
});

test('every page module, the libraries and the styles are served; no module imports a bare name', () => {
  for (const path of [
    'index.html',
    'app.js',
    'api.js',
    'chart.js',
    'console.css',
    'pages/overview.js',
    'pages/cost.js',
    'pages/limits.js',
    'pages/requests.js',
    'pages/alerts.js',
    'pages/keys.js',
    'pages/rollouts.js',
    'vendor/preact.mjs',
    'vendor/hooks.mjs',
    'vendor/htm.mjs',
    'vendor/uPlot.esm.js',
    'vendor/uPlot.min.css',
  ])
    assert.ok(assets.has(path), path);
  for (const [path, a] of assets) {
    if (path.endsWith('.js') || path.endsWith('.mjs'))
      assert.deepEqual(bareImports(a.body.toString()), [], path);
  }
  // The one rewrite: preact/hooks imports preact from where it is served.
  assert.match(assets.get('vendor/hooks.mjs')!.body.toString(), /from"\.\/preact\.mjs"/);
});

test('our own files load nothing from another origin and hold no inline script or style', () => {
  for (const [path, a] of assets) {
    if (path.startsWith('vendor/')) continue;
    // An SVG namespace is a name, not a load.
    const text = a.body.toString().replace('xmlns="http://www.w3.org/2000/svg"', '');
    assert.doesNotMatch(text, /https?:\/\//, `${path} names an absolute URL`);
    assert.doesNotMatch(text, /\beval\(|new Function\(/, path);
  }
  const index = assets.get('index.html')!.body.toString();
  assert.doesNotMatch(index, /<script(?![^>]*\bsrc=)[^>]*>/, 'inline script in index.html');
  assert.doesNotMatch(index, /<style|\sstyle=|\son[a-z]+=/i, 'inline style or handler in index.html');
});

test('answers: CSP and security headers, 304 on the ETag, brotli or gzip when accepted', () => {
  const a = assets.get('vendor/uPlot.esm.js')!;
  const plain = serveAsset(a, {});
  assert.equal(plain.status, 200);
  assert.equal(plain.headers['content-security-policy'], CSP);
  assert.match(CSP, /script-src 'self'(;|$)/);
  assert.doesNotMatch(CSP, /unsafe-inline|unsafe-eval|\*/);
  assert.equal(plain.headers['x-content-type-options'], 'nosniff');
  assert.equal(plain.headers['content-type'], 'text/javascript; charset=utf-8');
  const br = serveAsset(a, { 'accept-encoding': 'gzip, deflate, br' });
  assert.equal(br.headers['content-encoding'], 'br');
  assert.deepEqual(brotliDecompressSync(br.body as Buffer), a.body);
  assert.ok((br.body as Buffer).length < a.body.length / 3);
  const gz = serveAsset(a, { 'accept-encoding': 'gzip' });
  assert.deepEqual(gunzipSync(gz.body as Buffer), a.body);
  const again = serveAsset(a, { 'if-none-match': plain.headers.etag });
  assert.equal(again.status, 304);
  assert.equal(again.body, '');
});

test('the check that guards the vendor files sees preact/hooks’ own bare import (before the rewrite)', () => {
  const broken = readFileSync(
    new URL('../../node_modules/preact/hooks/dist/hooks.mjs', import.meta.url),
    'utf8',
  );
  assert.deepEqual(bareImports(broken), ['preact']);
});
