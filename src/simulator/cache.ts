/**
 * Prompt-caching emulation (reference §6).
 *
 * A request's positions (tools → system → messages, see `requestTokenBlocks`)
 * are hashed cumulatively: the hash at position p covers the model, every
 * position up to p, and (from the first message on) `tool_choice` and the
 * thinking config, so changing tools invalidates everything and changing
 * tool_choice/thinking invalidates the messages level. Entries are kept per
 * namespace (organization) and expire by TTL on the injected clock; a hit
 * refreshes the TTL.
 *
 * Accounting for one request, with breakpoints = blocks marked `cache_control`
 * (plus the top-level automatic one on the last cacheable block) whose prefix
 * reaches the model's minimum cacheable length:
 *   A = highest position with a live entry, looking back at most 20 positions
 *       from each breakpoint; reads = tokens up to A
 *   B = highest 1h breakpoint after A;  1h writes = tokens(A..B]
 *   C = last breakpoint;                5m writes = tokens(max(A,B)..C]
 *   input_tokens = total - tokens up to C
 * Entries are written (or refreshed) at every breakpoint when the request is
 * admitted (`commit`), i.e. when its response begins.
 */
import { createHash, type Hash } from 'node:crypto';
import {
  type CacheTtl,
  LOOKBACK_BLOCKS as LOOKBACK,
  MAX_BREAKPOINTS,
  minCacheableTokens,
  CACHE_TTL_MS as TTL_MS,
} from '../anthropic/caching.ts';
import type { ModelEntry } from '../anthropic/models.ts';
import type { TokenBlock } from '../anthropic/tokens.ts';

export type Ttl = CacheTtl;

export interface CacheUsage {
  input_tokens: number;
  cache_creation_input_tokens: number;
  cache_read_input_tokens: number;
  cache_creation: { ephemeral_5m_input_tokens: number; ephemeral_1h_input_tokens: number };
}

export interface CachePlan {
  usage: CacheUsage;
  /** Writes/refreshes the entries of this request. Call once the request is admitted. */
  commit(): void;
}

export interface CacheError {
  error: string;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

interface Breakpoint {
  pos: number;
  ttl: Ttl;
}

/** Usage when nothing is cached. */
export function uncachedUsage(total: number): CacheUsage {
  return {
    input_tokens: total,
    cache_creation_input_tokens: 0,
    cache_read_input_tokens: 0,
    cache_creation: { ephemeral_5m_input_tokens: 0, ephemeral_1h_input_tokens: 0 },
  };
}

function parseTtl(cc: unknown, where: string): Ttl | CacheError {
  if (!isObj(cc) || cc.type !== 'ephemeral')
    return { error: `${where}.cache_control.type: Input should be 'ephemeral'` };
  if (cc.ttl === undefined || cc.ttl === '5m') return '5m';
  if (cc.ttl === '1h') return '1h';
  return { error: `${where}.cache_control.ttl: Input should be '5m' or '1h'` };
}

function where(b: TokenBlock): string {
  if (b.section === 'messages') return `messages.${b.index}.content.${b.block}`;
  return `${b.section}.${b.index}`;
}

function cacheable(b: TokenBlock): boolean {
  const v = b.value;
  if (typeof v === 'string') return v.length > 0;
  if (!isObj(v)) return false;
  if (v.type === 'thinking' || v.type === 'redacted_thinking') return false;
  if (v.type === 'text' && (typeof v.text !== 'string' || v.text.length === 0)) return false;
  return true;
}

/**
 * Finds and validates the breakpoints of a request: at most 4 (automatic
 * caching takes one slot), `ephemeral` type, 1h before 5m, not on thinking or
 * empty text blocks.
 */
export function findBreakpoints(blocks: readonly TokenBlock[], topLevel: unknown): Breakpoint[] | CacheError {
  const out: Breakpoint[] = [];
  for (let i = 0; i < blocks.length; i++) {
    const b = blocks[i];
    if (b.cacheControl === undefined) continue;
    const w = where(b);
    const v = b.value;
    if (isObj(v) && (v.type === 'thinking' || v.type === 'redacted_thinking')) {
      return { error: `${w}.${String(v.type)}.cache_control: Extra inputs are not permitted` };
    }
    if (isObj(v) && v.type === 'text' && (typeof v.text !== 'string' || v.text.length === 0)) {
      return { error: `${w}: cache_control cannot be set for empty text blocks` };
    }
    const ttl = parseTtl(b.cacheControl, w);
    if (typeof ttl !== 'string') return ttl;
    out.push({ pos: i, ttl });
  }
  if (topLevel != null) {
    const ttl = parseTtl(topLevel, 'body');
    if (typeof ttl !== 'string') return ttl;
    let target = -1;
    for (let i = blocks.length - 1; i >= 0; i--) {
      if (cacheable(blocks[i])) {
        target = i;
        break;
      }
    }
    if (target >= 0) {
      const existing = out.find((bp) => bp.pos === target);
      if (existing && existing.ttl !== ttl) {
        return {
          error: `cache_control: automatic caching targets ${where(blocks[target])}, which already has a cache_control with a different ttl`,
        };
      }
      if (!existing) {
        if (out.length >= MAX_BREAKPOINTS) {
          return {
            error: `A maximum of ${MAX_BREAKPOINTS} blocks with cache_control may be provided. Automatic caching (top-level cache_control) needs one of the ${MAX_BREAKPOINTS} slots; found ${out.length} explicit breakpoints.`,
          };
        }
        out.push({ pos: target, ttl });
      }
    }
  }
  if (out.length > MAX_BREAKPOINTS) {
    return {
      error: `A maximum of ${MAX_BREAKPOINTS} blocks with cache_control may be provided. Found ${out.length}.`,
    };
  }
  let seen5m = false;
  for (const bp of out) {
    if (bp.ttl === '5m') seen5m = true;
    else if (seen5m) {
      return {
        error: `${where(blocks[bp.pos])}.cache_control.ttl: a ttl='1h' cache_control block must not come after a ttl='5m' cache_control block`,
      };
    }
  }
  return out;
}

function stripCacheControl(key: string, v: unknown): unknown {
  return key === 'cache_control' ? undefined : v;
}

interface Entry {
  expiresAt: number;
  ttlMs: number;
}

export class PromptCache {
  #now: () => number;
  #entries = new Map<string, Entry>();
  /** Upper bound on stored entries; expired ones are swept when it is reached. */
  readonly maxEntries: number;

  constructor(now: () => number, maxEntries = 100_000) {
    this.#now = now;
    this.maxEntries = maxEntries;
  }

  get size(): number {
    return this.#entries.size;
  }

  clear(): void {
    this.#entries.clear();
  }

  /**
   * Plans the cache accounting of one request. `blocks` = requestTokenBlocks(body);
   * `total` = its input tokens. Returns an error message for invalid cache_control.
   */
  plan(
    namespace: string,
    model: ModelEntry,
    body: Obj,
    blocks: readonly TokenBlock[],
    total: number,
  ): CachePlan | CacheError {
    const found = findBreakpoints(blocks, body.cache_control);
    if (!Array.isArray(found)) return found;
    const min = minCacheableTokens(model);
    const bps = found.filter((bp) => blocks[bp.pos].cumulative >= min);
    if (bps.length === 0) return { usage: uncachedUsage(total), commit: () => {} };

    const last = bps[bps.length - 1].pos;
    const hashes = this.#prefixHashes(namespace, model, body, blocks, last);
    const now = this.#now();

    // A: highest live entry within the lookback window of any breakpoint.
    let a = -1;
    for (const bp of bps) {
      for (let p = bp.pos; p >= Math.max(0, bp.pos - LOOKBACK) && p > a; p--) {
        const e = this.#entries.get(hashes[p]);
        if (e && e.expiresAt > now) {
          a = p;
          break;
        }
      }
    }
    let b = -1;
    for (const bp of bps) if (bp.ttl === '1h' && bp.pos > a) b = bp.pos;
    const cum = (p: number) => (p < 0 ? 0 : blocks[p].cumulative);
    const read = cum(a);
    const w1h = b >= 0 ? cum(b) - read : 0;
    const w5m = Math.max(0, cum(last) - Math.max(read, cum(b)));
    const usage: CacheUsage = {
      input_tokens: total - cum(last),
      cache_creation_input_tokens: w1h + w5m,
      cache_read_input_tokens: read,
      cache_creation: { ephemeral_5m_input_tokens: w5m, ephemeral_1h_input_tokens: w1h },
    };
    const hitKey = a >= 0 ? hashes[a] : undefined;
    return {
      usage,
      commit: () => {
        const t = this.#now();
        if (hitKey) {
          const e = this.#entries.get(hitKey);
          if (e) e.expiresAt = Math.max(e.expiresAt, t + e.ttlMs);
        }
        for (const bp of bps) this.#put(hashes[bp.pos], TTL_MS[bp.ttl], t);
      },
    };
  }

  #put(key: string, ttlMs: number, now: number): void {
    const e = this.#entries.get(key);
    if (e) {
      e.ttlMs = Math.max(e.ttlMs, ttlMs);
      e.expiresAt = Math.max(e.expiresAt, now + ttlMs);
      return;
    }
    if (this.#entries.size >= this.maxEntries) this.#sweep(now);
    this.#entries.set(key, { expiresAt: now + ttlMs, ttlMs });
  }

  #sweep(now: number): void {
    for (const [k, e] of this.#entries) if (e.expiresAt <= now) this.#entries.delete(k);
    // Still full: drop the oldest insertions.
    if (this.#entries.size >= this.maxEntries) {
      let drop = this.#entries.size - Math.floor(this.maxEntries * 0.9);
      for (const k of this.#entries.keys()) {
        if (drop-- <= 0) break;
        this.#entries.delete(k);
      }
    }
  }

  /** Cumulative prefix hashes for positions 0..last (namespaced keys). */
  #prefixHashes(
    namespace: string,
    model: ModelEntry,
    body: Obj,
    blocks: readonly TokenBlock[],
    last: number,
  ): string[] {
    const h: Hash = createHash('sha256');
    h.update(model.id);
    const out: string[] = new Array(last + 1);
    let inMessages = false;
    for (let p = 0; p <= last; p++) {
      const b = blocks[p];
      if (b.section === 'messages' && !inMessages) {
        inMessages = true;
        h.update(`\u0001${JSON.stringify(body.tool_choice ?? null)}${JSON.stringify(body.thinking ?? null)}`);
      }
      const v = typeof b.value === 'string' ? { type: 'text', text: b.value } : b.value;
      const role = b.section === 'messages' && b.block === 0 ? `${b.role}:${b.index}` : '';
      h.update(`\u0002${b.section}${role}\u0003${JSON.stringify(v, stripCacheControl)}`);
      out[p] = `${namespace}\u0000${h.copy().digest('base64')}`;
    }
    return out;
  }
}
