/**
 * The fallback layer: the chain of targets one request may be served by, in
 * order. A target is a model on a platform: the requested model on each of
 * the environment's platforms (the Claude API, then Bedrock or Vertex AI as
 * configured, `environments.<name>.platforms`), then the client's
 * `fallback_models` (`clients[].resilience.fallback_models`) the same way.
 * The upstream stage moves along it when every key of the current target is
 * out (breakers open, keys or platform credentials taken out), when the
 * upstream answers 529, and, when the next target is the same model on
 * another platform, on any answer that target can serve better (429 with no
 * other key, 5xx, no answer) (docs/resilience.md, docs/platforms.md).
 */
export class FallbackChain<T> {
  readonly #targets: readonly T[];
  #index = 0;

  constructor(targets: readonly T[]) {
    if (targets.length === 0) throw new Error('a fallback chain needs at least one target');
    this.#targets = targets;
  }

  get current(): T {
    return this.#targets[this.#index];
  }

  get hasNext(): boolean {
    return this.#index + 1 < this.#targets.length;
  }

  /** The target after the current one, if any. */
  get next(): T | undefined {
    return this.#targets[this.#index + 1];
  }

  /** Moves to the next target; false when there is none. */
  advance(): boolean {
    if (!this.hasNext) return false;
    this.#index += 1;
    return true;
  }
}
