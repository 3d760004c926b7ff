/**
 * `gantry keys rotate`: walks an operator through rotating an upstream key on
 * a running gateway, without a restart and without a failed request
 * (docs/key-rotation.md).
 *
 * With two key slots (`upstream_keys`): checks that the new key's slot has a
 * value and answers, makes it active, drains the old key (no new requests),
 * waits until the old key has no request in flight, optionally disables it,
 * then says what is left to do (revoke the old key at Anthropic, persist the
 * states in gantry.yaml). It talks to the gateway's admin routes with the
 * admin key read from an environment variable (never a command-line value).
 *
 * With one key (`upstream_key: file:…`): prints the steps (the gateway re-reads
 * the file when it changes).
 */
import { CliError } from './errors.ts';

export interface RotateOptions {
  gateway: string;
  environment: string;
  from?: string;
  to?: string;
  /** Name of the environment variable holding the admin key. */
  adminKeyEnv?: string;
  /** Disable the old key once drained. */
  disable?: boolean;
  /** Longest wait for the old key's in-flight requests, ms. */
  drainTimeoutMs?: number;
}

interface Io {
  stdout?: { write(text: string): unknown };
  env?: NodeJS.ProcessEnv;
  /** Poll interval while draining (tests shorten it). */
  pollMs?: number;
}

interface KeyView {
  id: string;
  state: string;
  inflight: number;
  has_value: boolean;
}

export async function rotate(opts: RotateOptions, io: Io = {}): Promise<void> {
  const out = io.stdout ?? process.stdout;
  const say = (line = '') => out.write(`${line}\n`);
  const env = io.env ?? process.env;
  const adminKeyEnv = opts.adminKeyEnv ?? 'GANTRY_ADMIN_KEY';
  const adminKey = env[adminKeyEnv];
  if (!adminKey)
    throw new CliError('usage', `set the admin key in $${adminKeyEnv} (see admin: in gantry.yaml)`);
  const base = opts.gateway.replace(/\/+$/, '');
  const call = async (method: 'GET' | 'POST', payload?: unknown) => {
    let res: Response;
    try {
      res = await fetch(`${base}/admin/upstream-keys`, {
        method,
        headers: { 'x-api-key': adminKey, 'content-type': 'application/json' },
        body: payload === undefined ? undefined : JSON.stringify(payload),
      });
    } catch (err) {
      throw new CliError('failure', `cannot reach the gateway at ${base}: ${(err as Error).message}`);
    }
    if (res.status === 404)
      throw new CliError('failure', 'the gateway has no admin key configured (admin: in gantry.yaml)');
    if (res.status === 401)
      throw new CliError('failure', `the gateway refused the admin key in $${adminKeyEnv}`);
    if (res.status !== 200)
      throw new CliError('failure', `the gateway answered ${res.status}: ${await res.text()}`);
    return (await res.json()) as { environments: Record<string, KeyView[]> };
  };
  const keysOf = async () => {
    const keys = (await call('GET')).environments[opts.environment];
    if (!keys) throw new CliError('usage', `no environment "${opts.environment}" on this gateway`);
    return keys;
  };

  const keys = await keysOf();
  if (opts.from === undefined || opts.to === undefined) {
    const ids = keys.map((k) => k.id).join(', ');
    say(`Environment "${opts.environment}" has ${keys.length === 1 ? 'one key' : `keys ${ids}`}.`);
    say('Rotating a single key reference (upstream_key: file:/path or exec:…):');
    say('  1. Create the new key in the Anthropic Console (same workspace as the old one).');
    say('  2. Write it to the secret the reference points at (atomic replace for files;');
    say('     exec: references are re-run every secrets.exec_refresh_ms).');
    say(`  3. Check ${base}/health: the key's probe is "ok" (the probe uses the new value).`);
    say('  4. Revoke the old key in the Console. Requests in flight with the old value that');
    say('     get a 401 are sent again with the new value: no request fails.');
    say('With two slots (upstream_keys), run: gantry keys rotate --from <old id> --to <new id>.');
    return;
  }
  const from = keys.find((k) => k.id === opts.from);
  const to = keys.find((k) => k.id === opts.to);
  if (!from) throw new CliError('usage', `no key "${opts.from}" in environment "${opts.environment}"`);
  if (!to) throw new CliError('usage', `no key "${opts.to}" in environment "${opts.environment}"`);
  if (!to.has_value) {
    throw new CliError(
      'failure',
      `key "${to.id}" has no value yet: write the new key to its reference first (see docs/key-rotation.md)`,
    );
  }
  say(`1/4 new key "${to.id}" has a value (state ${to.state}).`);
  if (to.state !== 'active') {
    await call('POST', { environment: opts.environment, id: to.id, state: 'active' });
    say(`    made "${to.id}" active.`);
  }
  await call('POST', { environment: opts.environment, id: from.id, state: 'draining' });
  say(`2/4 old key "${from.id}" is draining: it takes no new requests.`);
  const deadline = Date.now() + (opts.drainTimeoutMs ?? 10 * 60_000);
  for (;;) {
    const now = (await keysOf()).find((k) => k.id === from.id);
    if (!now || now.inflight === 0) break;
    if (Date.now() > deadline) {
      throw new CliError(
        'failure',
        `key "${from.id}" still has ${now.inflight} requests in flight; run again later`,
      );
    }
    await new Promise((r) => setTimeout(r, io.pollMs ?? 500));
  }
  say(`3/4 no request uses "${from.id}" any more.`);
  if (opts.disable) {
    await call('POST', { environment: opts.environment, id: from.id, state: 'disabled' });
    say(`    disabled "${from.id}".`);
  }
  say(`4/4 now revoke the old key in the Anthropic Console, then persist the change in gantry.yaml`);
  say(
    `    (environments.${opts.environment}.upstream_keys: "${from.id}" state: ${opts.disable ? 'disabled' : 'draining'}, or remove it);`,
  );
  say('    states set here last until the gateway restarts.');
}
