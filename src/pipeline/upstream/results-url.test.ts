import assert from 'node:assert/strict';
import { test } from 'node:test';
import { rewriteResultsUrls } from './results-url.ts';

const b = (s: string) => Buffer.from(s, 'utf8');
const up = 'https://api.anthropic.com';

test('results_url points at the public URL, in one batch and in a list', () => {
  const one = b(`{"id":"msgbatch_1","results_url":"${up}/v1/messages/batches/msgbatch_1/results"}`);
  const out = JSON.parse(rewriteResultsUrls(one, up, 'https://gantry.internal').toString());
  assert.equal(out.results_url, 'https://gantry.internal/v1/messages/batches/msgbatch_1/results');
  const list = b(`{"data":[{"results_url":"${up}/v1/messages/batches/a/results"},{"results_url":null}]}`);
  const outList = JSON.parse(rewriteResultsUrls(list, up, 'http://gw').toString());
  assert.equal(outList.data[0].results_url, 'http://gw/v1/messages/batches/a/results');
  assert.equal(outList.data[1].results_url, null);
});

test('without a public URL, results_url becomes a path', () => {
  const one = b(`{"results_url":"${up}/v1/messages/batches/x/results"}`);
  assert.equal(
    JSON.parse(rewriteResultsUrls(one, up, '').toString()).results_url,
    '/v1/messages/batches/x/results',
  );
});

test('bodies without results_url, or with a foreign one, are untouched', () => {
  const untouched = b('{"id":"x"}');
  assert.equal(rewriteResultsUrls(untouched, up, 'http://gw'), untouched);
  const foreign = b('{"results_url":"https://elsewhere.example/x"}');
  assert.equal(rewriteResultsUrls(foreign, up, 'http://gw'), foreign);
});
