/**
 * Every secret a resolved config references, opened once and closed together.
 */
import { openSecret, type SecretHandle, type SecretLogger } from './secrets.ts';
import type { ResolvedConfig } from './types.ts';

export interface SecretRegistryOptions {
  env?: NodeJS.ProcessEnv;
  logger?: SecretLogger;
  onChange?: (handle: SecretHandle) => void;
  filePollMs?: number;
  cwd?: string;
}

/** One opened secret and the config entries that reference it. */
export interface SecretEntry {
  readonly spec: string;
  readonly handle: SecretHandle;
  /** Config paths that reference it, e.g. `environments.prod.upstream_key`, `clients[0].key`. */
  readonly usedBy: readonly string[];
}

/**
 * Every secret a resolved config references, opened once (a reference used
 * twice shares one handle) and closed together.
 *
 * @example
 * const secrets = await SecretRegistry.open(config, { logger });
 * const upstreamKey = secrets.upstreamKey('prod').value();
 * // on shutdown:
 * secrets.close();
 */
export class SecretRegistry {
  /** Settles when every handle has finished its first read. */
  readonly ready: Promise<void>;
  readonly #bySpec = new Map<string, { handle: SecretHandle; usedBy: string[] }>();
  readonly #environments = new Map<string, SecretHandle>();
  readonly #clients = new Map<string, SecretHandle>();

  constructor(config: ResolvedConfig, opts: SecretRegistryOptions = {}) {
    const open = (spec: string, usedBy: string): SecretHandle => {
      let entry = this.#bySpec.get(spec);
      if (!entry) {
        const handle = openSecret(spec, {
          ...opts,
          execRefreshMs: config.secrets.execRefreshMs,
          execTimeoutMs: config.secrets.execTimeoutMs,
        });
        entry = { handle, usedBy: [] };
        this.#bySpec.set(spec, entry);
      }
      entry.usedBy.push(usedBy);
      return entry.handle;
    };
    try {
      for (const [name, env] of Object.entries(config.environments)) {
        if (env.upstreamKeys) {
          env.upstreamKeys.forEach((k, i) => {
            const handle = open(k.key, `environments.${name}.upstream_keys[${i}].key`);
            if (i === 0) this.#environments.set(name, handle);
          });
        } else {
          this.#environments.set(name, open(env.upstreamKey, `environments.${name}.upstream_key`));
        }
      }
      config.clients.forEach((client, i) => {
        if (client.key !== undefined) this.#clients.set(client.name, open(client.key, `clients[${i}].key`));
      });
    } catch (err) {
      this.close();
      throw err;
    }
    this.ready = Promise.all([...this.#bySpec.values()].map((e) => e.handle.ready)).then(() => undefined);
  }

  /** Opens the secrets of `config` and waits for their first read. */
  static async open(config: ResolvedConfig, opts: SecretRegistryOptions = {}): Promise<SecretRegistry> {
    const registry = new SecretRegistry(config, opts);
    await registry.ready;
    return registry;
  }

  /** The upstream key handle of an environment; throws for an unknown environment. */
  upstreamKey(environment: string): SecretHandle {
    const handle = this.#environments.get(environment);
    if (!handle) throw new Error(`unknown environment: ${environment}`);
    return handle;
  }

  /** The `key:` handle of a client, or `undefined` when the client uses `key_sha256` (or is unknown). */
  clientKey(client: string): SecretHandle | undefined {
    return this.#clients.get(client);
  }

  /** Every opened secret with the config paths that reference it. */
  entries(): SecretEntry[] {
    return [...this.#bySpec].map(([spec, e]) => ({ spec, handle: e.handle, usedBy: [...e.usedBy] }));
  }

  close(): void {
    for (const { handle } of this.#bySpec.values()) handle.close();
  }
}
