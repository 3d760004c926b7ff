/**
 * The fallback layer: the chain of targets one request may be served by, in
 * order: the requested model, then the client's `fallback_models`
 * (`clients[].resilience.fallback_models`). The upstream stage moves along it
 * when every key of the current target is out (breakers open, keys taken out)
 * or when the upstream answers 529 (docs/resilience.md). `undefined` is the
 * one target of routes that name no model.
 */
export class FallbackChain {
  readonly #targets: ReadonlyArray<string | undefined>;
  #index = 0;

  constructor(targets: ReadonlyArray<string | undefined>) {
    this.#targets = targets.length > 0 ? targets : [undefined];
  }

  get current(): string | undefined {
    return this.#targets[this.#index];
  }

  get hasNext(): boolean {
    return this.#index + 1 < this.#targets.length;
  }

  /** Moves to the next target; false when there is none. */
  advance(): boolean {
    if (!this.hasNext) return false;
    this.#index += 1;
    return true;
  }
}
