/**
 * Opens every secret reference of the config for the gateway and exposes them
 * to stages as a `SecretLookup`: a synchronous `value(spec)` for the request
 * path, and change notifications for rotation (a new file content or `exec:`
 * output re-indexes client keys without a restart).
 */
import type { Logger } from 'pino';
import { SecretRegistry } from '../config/registry.ts';
import type { ResolvedConfig } from '../config/types.ts';
import type { SecretLookup } from '../pipeline/stage.ts';

export async function openSecretLookup(
  config: ResolvedConfig,
  logger: Logger,
  env?: NodeJS.ProcessEnv,
): Promise<SecretLookup & { close(): void }> {
  const listeners = new Map<string, Array<() => void>>();
  const registry = await SecretRegistry.open(config, {
    env,
    logger,
    onChange: (handle) => {
      for (const fn of listeners.get(handle.spec) ?? []) fn();
    },
  });
  const handles = new Map(registry.entries().map((e) => [e.spec, e.handle]));
  for (const [spec, handle] of handles) {
    if (handle.value() === undefined) {
      logger.warn({ secret: spec, problem: handle.problem() }, 'secret reference does not resolve');
    }
  }
  return {
    value: (spec) => handles.get(spec)?.value(),
    onChange: (spec, fn) => {
      const list = listeners.get(spec) ?? [];
      list.push(fn);
      listeners.set(spec, list);
    },
    close: () => registry.close(),
  };
}
