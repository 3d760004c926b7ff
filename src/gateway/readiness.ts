/**
 * The readiness registry behind `/readyz`: stages that own a store register a
 * check; a run answers every check within a bound (a hung store is a down store).
 */
import type { ReadinessRegistry, ReadinessResult } from '../pipeline/stage.ts';

export function readinessRegistry(): ReadinessRegistry {
  const checks: Array<[string, () => ReadinessResult | Promise<ReadinessResult>]> = [];
  return {
    add: (name, check) => {
      checks.push([name, check]);
    },
    run: async (timeoutMs) => {
      const results = await Promise.all(
        checks.map(async ([name, check]): Promise<[string, ReadinessResult]> => {
          let timer: NodeJS.Timeout | undefined;
          const timedOut = new Promise<ReadinessResult>((resolve) => {
            timer = setTimeout(
              () => resolve({ ok: false, detail: `no answer within ${timeoutMs} ms` }),
              timeoutMs,
            );
          });
          try {
            return [name, await Promise.race([Promise.resolve().then(check), timedOut])];
          } catch (err) {
            return [name, { ok: false, detail: String((err as Error)?.name ?? 'error') }];
          } finally {
            clearTimeout(timer);
          }
        }),
      );
      return Object.fromEntries(results);
    },
  };
}
