/**
 * Prompts sent by reference: a request names a prompt of `prompts:` in the
 * `gantry-prompt` header (`support-agent`, or `support-agent@v3` to pin a
 * version) and the gateway puts that version's text first in `system`; a
 * `system` the request sends itself follows it (as more text blocks), so an
 * app keeps adding per-request context after the shared prompt.
 *
 * The version is the pinned one, else the one the request's rollout arm
 * names (`prompts:` of the arm), else the prompt's `default`. A name or
 * version that does not exist is refused with 400 `unknown_prompt`. Texts are
 * read once at start-up (`file:` paths relative to gantry.yaml).
 */
import { readFileSync } from 'node:fs';
import { GantryError } from '../errors.ts';
import { setBodyFields } from '../pipeline/body.ts';
import type { Exchange } from '../pipeline/exchange.ts';
import type { PromptConfig } from './config.ts';

const PROMPT_HEADER = 'gantry-prompt';

/** Prompt texts by name and version, loaded at start-up. */
export class PromptLibrary {
  readonly #prompts = new Map<string, { default: string; versions: Map<string, string> }>();

  constructor(prompts: readonly PromptConfig[]) {
    for (const p of prompts) {
      const versions = new Map<string, string>();
      for (const [v, spec] of Object.entries(p.versions)) {
        let text = spec.text;
        if (spec.file !== undefined) {
          try {
            text = readFileSync(spec.file, 'utf8');
          } catch (err) {
            throw new Error(
              `prompts.${p.name}.versions.${v}: cannot read ${spec.file}: ${(err as Error).message}`,
            );
          }
        }
        versions.set(v, text ?? '');
      }
      this.#prompts.set(p.name, { default: p.default, versions });
    }
  }

  get size(): number {
    return this.#prompts.size;
  }

  /** The name and pinned version a request references, or undefined when it sends no `gantry-prompt`. */
  static reference(ex: Pick<Exchange, 'headers'>): { name: string; version?: string } | undefined {
    const raw = ex.headers[PROMPT_HEADER];
    if (raw === undefined) return undefined;
    const v = (Array.isArray(raw) ? raw[0] : raw).trim();
    const at = v.indexOf('@');
    return at < 0 ? { name: v } : { name: v.slice(0, at), version: v.slice(at + 1) };
  }

  /**
   * Substitutes the referenced prompt into the request's `system`. `armVersion`
   * is the version the request's rollout arm names for this prompt, if any.
   */
  apply(ex: Exchange, ref: { name: string; version?: string }, armVersion: string | undefined): void {
    const p = this.#prompts.get(ref.name);
    if (!p)
      throw new GantryError(
        'unknown_prompt',
        `${PROMPT_HEADER}: no prompt "${ref.name.slice(0, 64)}" on this gateway${this.#prompts.size > 0 ? `; prompts: ${[...this.#prompts.keys()].join(', ')}` : ''}.`,
      );
    const version = ref.version ?? armVersion ?? p.default;
    const text = p.versions.get(version);
    if (text === undefined)
      throw new GantryError(
        'unknown_prompt',
        `${PROMPT_HEADER}: prompt "${ref.name}" has no version "${version.slice(0, 64)}"; versions: ${[...p.versions.keys()].join(', ')}.`,
      );
    if (!ex.body) return;
    const own = ex.body.system;
    let system: unknown = text;
    if (typeof own === 'string' && own.length > 0)
      system = [
        { type: 'text', text },
        { type: 'text', text: own },
      ];
    else if (Array.isArray(own) && own.length > 0) system = [{ type: 'text', text }, ...own];
    setBodyFields(ex, { system });
    ex.decisions.push({
      stage: 'rollouts',
      action: 'rewritten',
      rule: `prompts.${ref.name}`,
      detail: version,
    });
  }
}
