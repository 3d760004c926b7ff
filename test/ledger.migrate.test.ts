/**
 * Ledger tables created before a column was added (usage_source, session_id,
 * agent_id) get it when a store opens them: old rows read null, new rows keep
 * the new values. SQLite and the real PostgreSQL (one unique schema per run).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { after, describe, test } from 'node:test';
import pg from 'pg';
import { ADDED_COLUMNS, COLUMNS, type LedgerRow } from '../src/ledger/row.ts';
import { openLedgerStore } from '../src/ledger/store.ts';

const PG_URL = 'postgres://postgres@127.0.0.1:5432/test';
const SCHEMA = `gantry_migrate_test_${process.pid}_${Date.now().toString(36)}`;
const dir = mkdtempSync(join(tmpdir(), 'gantry-migrate-'));

after(async () => {
  rmSync(dir, { recursive: true, force: true });
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  await client.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`);
  await client.end();
});

/** The columns of the first release: everything but the added ones. */
const added = new Set(ADDED_COLUMNS.map((c) => c[1]));
const original = COLUMNS.filter((c) => !added.has(c[1]));
const oldTableSql = (table: string) =>
  `CREATE TABLE ${table} (${original.map(([, name, type]) => `${name} ${type}`).join(', ')})`;
const oldRowSql = (table: string, p: (i: number) => string) =>
  `INSERT INTO ${table} (id, ts, route, stream, input_tokens, output_tokens, cache_write_5m_tokens,
     cache_write_1h_tokens, cache_read_tokens, cost_micros, priced, batch, attempts, decisions)
   VALUES (${Array.from({ length: 14 }, (_, i) => p(i + 1)).join(', ')})`;
const oldRowValues = [
  'gtw_old',
  1_780_000_000_000,
  'messages',
  false,
  10,
  5,
  0,
  0,
  0,
  100,
  true,
  false,
  1,
  '[]',
];

const newRow: LedgerRow = {
  id: 'gtw_new',
  ts: 1_780_000_000_001,
  upstreamRequestId: null,
  route: 'messages',
  client: 'cc',
  environment: 'default',
  customer: 'dev@example.com',
  model: 'claude-haiku-4-5',
  requestedModel: null,
  stream: true,
  status: 200,
  outcome: 'client_closed',
  errorType: null,
  inputTokens: 10,
  outputTokens: 219,
  cacheWrite5mTokens: 0,
  cacheWrite1hTokens: 0,
  cacheReadTokens: 0,
  costMicros: 1105,
  priced: true,
  batch: false,
  latencyMs: 1,
  ttftMs: 1,
  attempts: 1,
  decisions: '[]',
  usageSource: 'estimated',
  sessionId: 'sess-1',
  agentId: 'agent-main',
};

async function checkStore(url: string): Promise<void> {
  const store = await openLedgerStore(url);
  try {
    await store.insert([newRow]);
    const rows = await store.rows();
    const old = rows.find((r) => r.id === 'gtw_old')!;
    // Old rows have no value in the added columns: the optional fields are absent.
    assert.equal(old.usageSource, undefined);
    assert.equal(old.sessionId, undefined);
    assert.equal(old.agentId, undefined);
    assert.equal(old.outputTokens, 5);
    const fresh = rows.find((r) => r.id === 'gtw_new')!;
    assert.equal(fresh.usageSource, 'estimated');
    assert.equal(fresh.sessionId, 'sess-1');
    assert.equal(fresh.agentId, 'agent-main');
  } finally {
    await store.close();
  }
  // Opening it again (every start, and several gateways at once) changes nothing.
  const [a, b] = await Promise.all([openLedgerStore(url), openLedgerStore(url)]);
  assert.equal(await a.count(), 2);
  await Promise.all([a.close(), b.close()]);
}

describe('ledger migrations', () => {
  test('SQLite: a table of the first release gets the added columns', async () => {
    const path = join(dir, 'old.db');
    const db = new DatabaseSync(path);
    db.exec(oldTableSql('gantry_ledger'));
    db.prepare(oldRowSql('gantry_ledger', () => '?')).run(
      ...oldRowValues.map((v) => (typeof v === 'boolean' ? (v ? 1 : 0) : v)),
    );
    db.close();
    await checkStore(`sqlite:${path}`);
    const cols = new DatabaseSync(path).prepare('PRAGMA table_info(gantry_ledger)').all() as Array<{
      name: string;
    }>;
    assert.deepEqual(
      cols.map((c) => c.name),
      COLUMNS.map((c) => c[1]),
    );
  });

  test('PostgreSQL: a table of the first release gets the added columns', async () => {
    const table = `${SCHEMA}.ledger_old`;
    const client = new pg.Client({ connectionString: PG_URL });
    await client.connect();
    try {
      await client.query(`CREATE SCHEMA ${SCHEMA}`);
      await client.query(oldTableSql(table));
      await client.query(
        oldRowSql(table, (i) => `$${i}`),
        oldRowValues,
      );
    } finally {
      await client.end();
    }
    await checkStore(`${PG_URL}?table=${table}`);
  });
});
