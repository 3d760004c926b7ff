import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, mock, test } from 'node:test';
import { type BreakerEvent, Topic } from '../observe/events.ts';
import { BreakerOpenError, Breakers } from './breaker.ts';

const OPTIONS = { failureRate: 0.5, window: 10, minVolume: 4, cooldownMs: 30_000 };
const ok = async () => ({ failed: false });
const fail = async () => ({ failed: true });

describe('breaker (fake clock)', () => {
  const events: BreakerEvent[] = [];
  const topic = new Topic<BreakerEvent>();
  topic.subscribe((e) => events.push(e));
  beforeEach(() => {
    events.length = 0;
    mock.timers.enable({ apis: ['Date'], now: 1_000_000 });
  });
  afterEach(() => {
    mock.timers.reset();
  });

  test('stays closed below the minimum volume, opens over the failure rate once it is reached', async () => {
    const b = new Breakers(OPTIONS, undefined, topic).get('prod/a', 'm');
    for (let i = 0; i < 3; i++) await b.run(fail);
    assert.equal(b.state, 'closed', 'three failures are below the minimum volume of 4');
    await b.run(fail);
    assert.equal(b.state, 'open');
    assert.equal(b.available(), false);
    await assert.rejects(b.run(ok), BreakerOpenError);
    assert.equal(events.length, 1);
    assert.deepEqual(
      { key: events[0].key, model: events[0].model, from: events[0].from, to: events[0].to },
      { key: 'prod/a', model: 'm', from: 'closed', to: 'open' },
    );
  });

  test('a failure rate at or under the threshold keeps it closed', async () => {
    const b = new Breakers(OPTIONS, undefined, topic).get('k', 'm');
    for (let i = 0; i < 10; i++) await b.run(i % 2 === 1 ? fail : ok);
    assert.equal(b.state, 'closed');
  });

  test('open -> half-open after the cool-down; one probe; success closes', async () => {
    const b = new Breakers(OPTIONS, undefined, topic).get('k', 'm');
    for (let i = 0; i < 4; i++) await b.run(fail);
    assert.ok(b.retryAfterMs() > 29_000);
    mock.timers.tick(29_999);
    assert.equal(b.available(), false);
    mock.timers.tick(1);
    assert.equal(b.available(), true);
    let release!: (v: { failed: boolean }) => void;
    let probeFlag: boolean | undefined;
    const probe = b.run((isProbe) => {
      probeFlag = isProbe;
      return new Promise<{ failed: boolean }>((r) => {
        release = r;
      });
    });
    assert.equal(b.state, 'half_open');
    assert.equal(probeFlag, true);
    assert.equal(b.available(), false, 'a second caller does not wait behind the probe');
    await assert.rejects(b.run(ok), BreakerOpenError);
    release({ failed: false });
    await probe;
    assert.equal(b.state, 'closed');
    assert.deepEqual(
      events.map((e) => `${e.from}->${e.to}`),
      ['closed->open', 'open->half_open', 'half_open->closed'],
    );
  });

  test('a failed probe re-opens for another cool-down', async () => {
    const b = new Breakers(OPTIONS, undefined, topic).get('k', 'm');
    for (let i = 0; i < 4; i++) await b.run(fail);
    mock.timers.tick(30_000);
    await b.run(fail);
    assert.equal(b.state, 'open');
    assert.equal(b.available(), false);
    mock.timers.tick(30_000);
    assert.equal(b.available(), true);
    await b.run(ok);
    assert.equal(b.state, 'closed');
  });

  test('breakers are per key and model', async () => {
    const breakers = new Breakers(OPTIONS, undefined, topic);
    for (let i = 0; i < 4; i++) await breakers.get('a', 'm').run(fail);
    assert.equal(breakers.get('a', 'm').state, 'open');
    assert.equal(breakers.get('b', 'm').state, 'closed');
    assert.equal(breakers.get('a', 'n').state, 'closed');
    assert.deepEqual(
      breakers.list().map((b) => [b.key, b.model, b.state]),
      [
        ['a', 'm', 'open'],
        ['b', 'm', 'closed'],
        ['a', 'n', 'closed'],
      ],
    );
  });
});
