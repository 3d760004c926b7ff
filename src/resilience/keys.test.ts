import assert from 'node:assert/strict';
import { afterEach, test } from 'node:test';
import { Topic, type UpstreamKeyEvent } from '../observe/events.ts';
import type { SecretLookup } from '../pipeline/stage.ts';
import { KeyRing } from './keys.ts';

function lookup(values: Record<string, string | undefined>) {
  const listeners = new Map<string, Array<() => void>>();
  const secrets: SecretLookup & { set(spec: string, v: string): void } = {
    value: (spec) => values[spec],
    onChange: (spec, fn) => listeners.set(spec, [...(listeners.get(spec) ?? []), fn]),
    set(spec, v) {
      values[spec] = v;
      for (const fn of listeners.get(spec) ?? []) fn();
    },
  };
  return secrets;
}
const quiet = { warn() {}, info() {} };
const env = (keys: Array<[string, string, 'active' | 'draining' | 'disabled', number]>) => ({
  name: 'prod',
  upstreamKey: keys[0][1],
  upstreamKeys: keys.map(([id, key, state, weight]) => ({ id, key, state, weight })),
});

const events: UpstreamKeyEvent[] = [];
const topic = new Topic<UpstreamKeyEvent>();
topic.subscribe((e) => events.push(e));
afterEach(() => {
  events.length = 0;
});

test('weighted selection over active keys; draining only when no active key is left; disabled never', () => {
  const secrets = lookup({ 'env:A': 'a', 'env:B': 'b', 'env:C': 'c', 'env:D': 'd' });
  let r = 0;
  const ring = new KeyRing(
    env([
      ['a', 'env:A', 'active', 3],
      ['b', 'env:B', 'active', 1],
      ['c', 'env:C', 'draining', 1],
      ['d', 'env:D', 'disabled', 1],
    ]),
    secrets,
    quiet,
    undefined,
    () => r,
  );
  const counts: Record<string, number> = {};
  for (let i = 0; i < 100; i++) {
    r = i / 100;
    const id = ring.pick()!.id;
    counts[id] = (counts[id] ?? 0) + 1;
  }
  assert.deepEqual(counts, { a: 75, b: 25 });
  assert.equal(ring.pick((k) => k.id !== 'a' && k.id !== 'b')?.id, 'c');
  assert.equal(
    ring.pick((k) => k.id === 'd'),
    undefined,
  );
});

test('a failed key is reported, skipped, used only as a last resort, and back when its value changes', () => {
  const secrets = lookup({ 'env:A': 'a', 'env:B': 'b' });
  const ring = new KeyRing(
    env([
      ['a', 'env:A', 'active', 1],
      ['b', 'env:B', 'active', 1],
    ]),
    secrets,
    quiet,
    undefined,
    Math.random,
    topic,
  );
  ring.setState('a', 'failed', 'upstream answered 401');
  assert.deepEqual(
    events.map((e) => [e.environment, e.keyId, e.state, e.reason]),
    [['prod', 'a', 'failed', 'upstream answered 401']],
  );
  for (let i = 0; i < 20; i++) assert.equal(ring.pick()?.id, 'b');
  assert.equal(ring.pick((k) => k.id !== 'b')?.id, 'a', 'last resort');
  secrets.set('env:A', 'a2');
  assert.equal(ring.get('a')?.state, 'active');
  assert.equal(events.at(-1)?.reason, 'secret value changed');
});

test('a key without a value is skipped until its secret has one; the single-key form has id "default"', () => {
  const secrets = lookup({ 'file:/a': 'a', 'file:/b': undefined });
  const ring = new KeyRing(
    env([
      ['a', 'file:/a', 'active', 1],
      ['b', 'file:/b', 'active', 1],
    ]),
    secrets,
    quiet,
  );
  assert.equal(
    ring.pick((k) => k.id === 'b'),
    undefined,
  );
  secrets.set('file:/b', 'b');
  assert.equal(ring.pick((k) => k.id === 'b')?.id, 'b');
  const single = new KeyRing({ name: 'dev', upstreamKey: 'file:/a' }, secrets, quiet);
  assert.deepEqual(
    single.describe().map((k) => [k.id, k.state, k.has_value]),
    [['default', 'active', true]],
  );
});
