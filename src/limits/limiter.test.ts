/**
 * The limiter over both stores (memory, real Redis): the budget race, token
 * reconciliation, downgrade, threshold events, fail open / closed.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { costOf, worstCaseCostMicros } from '../anthropic/cost.ts';
import { emptyUsage, type Usage } from '../anthropic/usage.ts';
import { parseConfig } from '../config/load.ts';
import type { ResolvedConfig } from '../config/types.ts';
import { GantryError } from '../errors.ts';
import type { BudgetEvent } from '../observe/events.ts';
import type { Decision } from '../pipeline/exchange.ts';
import { LimitsEnforcer } from './limiter.ts';
import { MemoryStore } from './memory.ts';
import { periodOf } from './periods.ts';
import { RedisStore } from './redis.ts';
import type { StateStore } from './store.ts';

const REDIS_URL = process.env.GANTRY_TEST_REDIS ?? 'redis://127.0.0.1:6379/0';
const HASH = 'a'.repeat(64);
const MODEL = 'claude-haiku-4-5';

function config(limitsYaml: string, top = '', root = ''): ResolvedConfig {
  return parseConfig(
    `${root}clients:\n  - name: app\n    key_sha256: ${HASH}\n    limits: ${limitsYaml}\nlimits:\n  key_prefix: "gantry-test:${randomUUID()}:"\n${top}`,
    { source: 'test', baseDir: process.cwd() },
  );
}

const usage = (input: number, output: number): Usage => ({
  ...emptyUsage(),
  inputTokens: input,
  outputTokens: output,
});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function suite(name: string, makeStore: () => StateStore) {
  describe(`limiter on the ${name} store`, () => {
    const stores: StateStore[] = [];
    const store = () => {
      const s = makeStore();
      stores.push(s);
      return s;
    };
    before(async () => {
      const probe = makeStore();
      if (probe instanceof RedisStore) assert.ok(await probe.ready(3_000));
      await probe.close();
    });
    after(async () => {
      for (const s of stores) await s.close();
    });

    test('budget race: 50 concurrent requests, budget worth 10 → overshoot at most one reservation', async () => {
      const actual = costOf(usage(100, 100), MODEL).micros; // 600 µ$
      const reservation = worstCaseCostMicros(MODEL, 100, 100)!; // 770 µ$
      const limitUsd = (10 * actual) / 1e6;
      const cfg = config(`{ budget: { daily_usd: ${limitUsd} } }`);
      const s = store();
      if (s instanceof RedisStore) await s.ready(3_000);
      // Two limiters on one store: two replicas.
      const replicas = [new LimitsEnforcer(cfg, s), new LimitsEnforcer(cfg, s)];
      let admitted = 0;
      let exceeded = 0;
      const one = async (i: number) => {
        const limiter = replicas[i % 2];
        for (;;) {
          try {
            const a = await limiter.admit(
              {
                client: 'app',
                environment: 'default',
                model: MODEL,
                estimatedInputTokens: 100,
                maxTokens: 100,
              },
              [],
            );
            admitted++;
            await sleep(5 + Math.random() * 20);
            await limiter.settle(a.ticket!, usage(100, 100), MODEL);
            return;
          } catch (err) {
            assert.ok(err instanceof GantryError);
            if (err.code === 'budget_exceeded') {
              exceeded++;
              return;
            }
            assert.equal(err.code, 'budget_reserved'); // in-flight reservations hold the rest: retry
            await sleep(2 + Math.random() * 5);
          }
        }
      };
      await Promise.all(Array.from({ length: 50 }, (_, i) => one(i)));
      const [status] = await replicas[0].budgetStatus('app', 'default');
      const limit = 10 * actual;
      assert.equal(admitted + exceeded, 50);
      assert.ok(status.spentMicros >= limit, `spent ${status.spentMicros} reaches the budget ${limit}`);
      assert.ok(
        status.spentMicros - limit <= reservation,
        `overshoot ${status.spentMicros - limit} µ$ ≤ one reservation ${reservation} µ$`,
      );
      assert.equal(status.committedMicros, status.spentMicros, 'no reservation left behind');
      console.log(
        `# ${name}: admitted ${admitted}, overshoot ${status.spentMicros - limit} µ$ (bound ${reservation})`,
      );
    });

    test('402 names the budget and its reset; x-should-retry false; rate tokens given back', async () => {
      const s = store();
      if (s instanceof RedisStore) await s.ready(3_000);
      const limiter = new LimitsEnforcer(config('{ rpm: 100, budget: { daily_usd: 0.0005 } }'), s);
      const req = {
        client: 'app',
        environment: 'default',
        model: MODEL,
        estimatedInputTokens: 100,
        maxTokens: 100,
      };
      const a = await limiter.admit(req, []);
      await limiter.settle(a.ticket!, usage(100, 100), MODEL); // 600 µ$ > 500 µ$
      const decisions: Decision[] = [];
      const err = await limiter.admit(req, decisions).then(
        () => assert.fail('admitted'),
        (e: GantryError) => e,
      );
      assert.equal(err.code, 'budget_exceeded');
      assert.equal(err.status, 402);
      assert.equal(err.headers?.['x-should-retry'], 'false');
      assert.match(err.message, /budget\.client\.daily/);
      assert.equal(err.details?.resets_at, new Date(periodOf('daily', Date.now()).resetsAt).toISOString());
      assert.deepEqual(decisions, [
        { stage: 'admit', action: 'budget_exceeded', rule: 'budget.client.daily' },
      ]);
      // The refused request gave its request token back: 100 - 1 (the admitted one).
      const headers = (await limiter
        .admit({ ...req, model: 'x' }, [])
        .catch((e: GantryError) => e)) as GantryError;
      assert.equal(headers.headers?.['gantry-ratelimit-requests-remaining'], '98');
    });

    test('rate limit: 429 with retry-after and the rule; tokens reconcile with the usage', async () => {
      const s = store();
      if (s instanceof RedisStore) await s.ready(3_000);
      const limiter = new LimitsEnforcer(config('{ rpm: 2, input_tpm: 1000, output_tpm: 1000 }'), s);
      const req = {
        client: 'app',
        environment: 'default',
        model: MODEL,
        estimatedInputTokens: 300,
        maxTokens: 800,
      };
      const a = await limiter.admit(req, []);
      assert.equal(a.headers['gantry-ratelimit-requests-limit'], '2');
      assert.equal(a.headers['gantry-ratelimit-requests-remaining'], '1');
      assert.equal(a.headers['gantry-ratelimit-output-tokens-remaining'], '200');
      assert.match(a.headers['gantry-ratelimit-output-tokens-reset'], /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      // Output: 800 reserved, 50 used → 750 refunded. Input: 300 estimated, 500 used → 200 charged.
      await limiter.settle(a.ticket!, usage(500, 50), MODEL);
      const b = await limiter.admit({ ...req, maxTokens: 10, estimatedInputTokens: 10 }, []);
      assert.ok(Number(b.headers['gantry-ratelimit-output-tokens-remaining']) >= 930);
      const input = Number(b.headers['gantry-ratelimit-input-tokens-remaining']);
      assert.ok(input >= 480 && input <= 495, `input remaining ${input}`);
      const decisions: Decision[] = [];
      const err = (await limiter.admit(req, decisions).catch((e) => e)) as GantryError;
      assert.equal(err.code, 'rate_limited');
      assert.equal(err.status, 429);
      assert.ok(Number(err.headers?.['retry-after']) >= 1);
      assert.equal(err.headers?.['gantry-ratelimit-requests-remaining'], '0');
      assert.deepEqual(decisions, [{ stage: 'admit', action: 'rate_limited', rule: 'ratelimit.client.rpm' }]);
      // An upstream error used nothing: the whole reservation comes back.
      await limiter.settle(b.ticket!, undefined, MODEL);
    });

    test('per customer and per environment scopes; downgrade and alert-only; 80 % and 100 % events once', async () => {
      const s = store();
      if (s instanceof RedisStore) await s.ready(3_000);
      const cfg = config(
        '{ per_customer: { rpm: 1 }, budget: { daily_usd: 0.001, action: downgrade, downgrade_to: claude-haiku-4-5 } }',
        '  environments:\n    default: { budget: { monthly_usd: 0.0012, action: alert-only } }\n',
      );
      const events: BudgetEvent[] = [];
      const limiter = new LimitsEnforcer(cfg, s, { onBudgetEvent: (e) => events.push(e) });
      {
        const req = {
          client: 'app',
          environment: 'default',
          model: 'claude-sonnet-4-5',
          estimatedInputTokens: 10,
          maxTokens: 10,
        };
        const first = await limiter.admit({ ...req, customer: 'c1' }, []);
        const rl = (await limiter.admit({ ...req, customer: 'c1' }, []).catch((e) => e)) as GantryError;
        assert.equal(rl.details?.rule, 'ratelimit.customer.rpm');
        assert.equal(rl.details?.scope, 'customer:app/c1');
        await limiter.admit({ ...req, customer: 'c2' }, []); // another customer, its own bucket
        await limiter.settle(first.ticket!, usage(100, 130), 'claude-sonnet-4-5'); // 0.3 + 1.95 → 2.25 ms$·1.0… = 2250 µ$
        const decisions: Decision[] = [];
        const d = await limiter.admit(req, decisions);
        assert.equal(d.downgradeTo, 'claude-haiku-4-5');
        assert.deepEqual(decisions, [
          { stage: 'admit', action: 'downgraded', rule: 'budget.client.daily', detail: 'claude-haiku-4-5' },
          {
            stage: 'admit',
            action: 'flagged',
            rule: 'budget.environment.monthly',
            detail: 'budget spent (alert-only)',
          },
        ]);
        assert.equal(d.ticket?.reservedMicros, worstCaseCostMicros('claude-haiku-4-5', 10, 10));
        await limiter.settle(d.ticket!, usage(10, 10), 'claude-haiku-4-5');
        const crossed = events.map((e) => `${e.scope} ${e.period} ${e.threshold} ${e.action}`).sort();
        assert.deepEqual(crossed, [
          'client:app daily 100 downgrade',
          'client:app daily 80 downgrade',
          'environment:default monthly 100 alert-only',
          'environment:default monthly 80 alert-only',
        ]);
      }
    });

    test('status: headroom of every configured scope, spend and in-flight reservations, nothing taken', async () => {
      const s = store();
      if (s instanceof RedisStore) await s.ready(3_000);
      const cfg = config(
        '{ rpm: 10, output_tpm: 1000, budget: { daily_usd: 1 } }',
        '  environments:\n    default: { input_tpm: 5000 }\n',
      );
      const limiter = new LimitsEnforcer(cfg, s);
      const fresh = await limiter.status();
      assert.deepEqual(
        fresh.map((x) => [x.scope, x.rates.map((r) => `${r.dimension} ${r.remaining}/${r.limitPerMinute}`)]),
        [
          ['client:app', ['rpm 10/10', 'output_tpm 1000/1000']],
          ['environment:default', ['input_tpm 5000/5000']],
        ],
      );
      const req = {
        client: 'app',
        environment: 'default',
        model: MODEL,
        estimatedInputTokens: 100,
        maxTokens: 400,
      };
      const a = await limiter.admit(req, []);
      const during = await limiter.status();
      const app = during[0];
      assert.equal(app.rates[0].remaining, 9);
      assert.equal(app.rates[0].headroomPercent, 90);
      assert.equal(app.rates[1].remaining, 600);
      assert.ok(Date.parse(app.rates[1].fullAt) > Date.now());
      assert.equal(during[1].rates[0].remaining, 4900);
      const reserved = worstCaseCostMicros(MODEL, 100, 400)!;
      assert.deepEqual(
        { ...app.budgets[0], resetsAt: undefined },
        {
          period: 'daily',
          action: 'block',
          limitMicros: 1_000_000,
          spentMicros: 0,
          committedMicros: reserved,
          reservedMicros: reserved,
          percent: 0,
          resetsAt: undefined,
        },
      );
      await limiter.settle(a.ticket!, usage(100, 50), MODEL);
      const after = (await limiter.status())[0].budgets[0];
      const spent = costOf(usage(100, 50), MODEL).micros;
      assert.equal(after.spentMicros, spent);
      assert.equal(after.reservedMicros, 0);
      // Reading status took nothing: the rpm bucket still holds 9.
      assert.equal((await limiter.status())[0].rates[0].remaining, 9);
    });
  });
}

suite('memory', () => new MemoryStore({ sweepMs: 0 }));
suite('redis', () => new RedisStore({ url: REDIS_URL }));

describe('store unreachable (Redis on a closed port)', () => {
  const cfg = config(
    '{ rpm: 10 }',
    '  store_timeout_ms: 200\n  environments:\n    closedenv: { rpm: 10, on_store_error: closed }\n',
    'environments:\n  default: { upstream_key: env:GANTRY_TEST_A }\n  closedenv: { upstream_key: env:GANTRY_TEST_B }\n',
  );
  const store = new RedisStore({ url: 'redis://127.0.0.1:1/0', connectTimeoutMs: 200 });
  after(() => store.close());
  const req = { client: 'app', environment: 'default', model: MODEL, estimatedInputTokens: 1, maxTokens: 1 };

  test('fail open (the default): admitted, decision recorded', async () => {
    const errors: string[] = [];
    const limiter = new LimitsEnforcer(cfg, store, { onStoreError: (_e, mode) => errors.push(mode) });
    const decisions: Decision[] = [];
    const a = await limiter.admit(req, decisions);
    assert.equal(a.ticket, undefined);
    assert.deepEqual(decisions, [
      { stage: 'admit', action: 'degraded', rule: 'limits.store', detail: 'fail_open' },
    ]);
    assert.deepEqual(errors, ['open']);
  });

  test('fail closed when a scope of the request says so: 503 limits_unavailable', async () => {
    const limiter = new LimitsEnforcer(cfg, store);
    const err = (await limiter
      .admit({ ...req, environment: 'closedenv' }, [])
      .catch((e) => e)) as GantryError;
    assert.equal(err.code, 'limits_unavailable');
    assert.equal(err.status, 503);
  });
});

describe('settlement retries and close', () => {
  /** A memory store whose next `failures` settlements fail (the link is down). */
  class FailingSettle extends MemoryStore {
    failures: number;
    attempts = 0;
    constructor(failures: number) {
      super({ sweepMs: 0 });
      this.failures = failures;
    }
    override async settle(...args: Parameters<MemoryStore['settle']>) {
      this.attempts++;
      if (this.failures-- > 0) throw new Error('connect ECONNREFUSED');
      return super.settle(...args);
    }
  }
  const req = {
    client: 'app',
    environment: 'default',
    model: MODEL,
    estimatedInputTokens: 100,
    maxTokens: 100,
  };

  test('a failing settlement is retried until it lands; close waits for it', async () => {
    const store = new FailingSettle(3);
    const limiter = new LimitsEnforcer(config('{ budget: { daily_usd: 10 } }'), store, { settleRetryMs: 10 });
    const a = await limiter.admit(req, []);
    void limiter.settle(a.ticket!, usage(100, 100), MODEL);
    await limiter.close({ deadline: Date.now() + 5_000 });
    assert.equal(store.attempts, 4);
    const [status] = await limiter.budgetStatus('app', 'default');
    assert.deepEqual([status.spentMicros, status.committedMicros], [600, 600]);
  });

  test('close stops retrying at its deadline; the settlement is reported abandoned', async () => {
    const store = new FailingSettle(Number.POSITIVE_INFINITY);
    const abandoned: string[] = [];
    const limiter = new LimitsEnforcer(config('{ budget: { daily_usd: 10 } }'), store, {
      settleRetryMs: 10,
      onSettleAbandoned: (_err, ticket) => abandoned.push(ticket.leaseId),
    });
    const a = await limiter.admit({ ...req, id: 'gtw_abandoned' }, []);
    const settled = limiter.settle(a.ticket!, usage(100, 100), MODEL).catch((e: Error) => e);
    const t0 = Date.now();
    await limiter.close({ deadline: t0 + 300 });
    assert.ok(Date.now() - t0 < 300 + 200, `close took ${Date.now() - t0} ms`);
    assert.ok((await settled) instanceof Error);
    assert.deepEqual(abandoned, ['gtw_abandoned']);
  });
});
