import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { rewriteTopLevelString } from './rewrite.ts';

test('only the top-level model value changes; every other byte stays', () => {
  const raw = Buffer.from(
    '{ "messages":[{"role":"user","content":"\\"model\\": x"}], "model" : "a",\n"metadata":{"model":"b"}}',
  );
  const out = rewriteTopLevelString(raw, 'model', 'claude-haiku-4-5')!.toString();
  assert.equal(
    out,
    '{ "messages":[{"role":"user","content":"\\"model\\": x"}], "model" : "claude-haiku-4-5",\n"metadata":{"model":"b"}}',
  );
  assert.equal(rewriteTopLevelString(Buffer.from('{"x":1}'), 'model', 'm'), undefined);
  assert.equal(rewriteTopLevelString(Buffer.from('{"model":5}'), 'model', 'm'), undefined);
});

test('property: the rewrite parses to the same object with the new model', () => {
  fc.assert(
    fc.property(
      fc.dictionary(
        fc.string().filter((k) => k !== '__proto__'),
        fc.jsonValue(),
      ),
      fc.string(),
      fc.string(),
      (obj, before, after) => {
        const input = { ...obj, model: before };
        const raw = Buffer.from(JSON.stringify(input));
        const out = rewriteTopLevelString(raw, 'model', after);
        assert.ok(out);
        // Compared after a JSON round trip (-0 is written as 0).
        assert.deepEqual(JSON.parse(out.toString()), JSON.parse(JSON.stringify({ ...input, model: after })));
      },
    ),
  );
});
