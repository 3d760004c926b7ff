/**
 * Message Batches (reference §1.3), settled lazily on the simulator clock.
 *
 * A batch is `in_progress` until `created + processingMs`, then `ended` with one
 * result per request (`succeeded` / `errored`; params are validated only then,
 * as the API does). Cancel moves it to `canceling`, and it ends (all requests
 * `canceled`) after `min(remaining, cancelMs)`. A batch whose processing would
 * outlast its 24 h expiry ends with every request `expired`. State changes
 * happen when a batch is read (no timers), so a fake clock drives everything.
 */
import { newId } from '../anthropic/ids.ts';

export type BatchResult =
  | { type: 'succeeded'; message: unknown }
  | { type: 'errored'; error: unknown }
  | { type: 'canceled' }
  | { type: 'expired' };

export interface BatchRequest {
  custom_id: string;
  params: unknown;
}

export interface MessageBatch {
  id: string;
  type: 'message_batch';
  processing_status: 'in_progress' | 'canceling' | 'ended';
  request_counts: {
    processing: number;
    succeeded: number;
    errored: number;
    canceled: number;
    expired: number;
  };
  created_at: string;
  expires_at: string;
  ended_at: string | null;
  cancel_initiated_at: string | null;
  archived_at: string | null;
  results_url: string | null;
}

interface Record_ {
  batch: MessageBatch;
  requests: BatchRequest[];
  createdMs: number;
  dueMs: number;
  expiresMs: number;
  baseUrl: string;
  context: unknown;
  results: string | null;
}

/** Processes one request of a batch into its result (validation included). */
export type ProcessBatchRequest = (params: unknown, context: unknown) => BatchResult;

export const BATCH_TTL_MS = 24 * 3_600_000;

const iso = (ms: number): string => new Date(ms).toISOString();

export class BatchStore {
  #now: () => number;
  #process: ProcessBatchRequest;
  #records = new Map<string, Record_>();
  /** Ids in creation order (oldest first). */
  #order: string[] = [];
  processingMs: number;
  cancelMs: number;

  constructor(now: () => number, process: ProcessBatchRequest, processingMs = 200, cancelMs = 50) {
    this.#now = now;
    this.#process = process;
    this.processingMs = processingMs;
    this.cancelMs = cancelMs;
  }

  get size(): number {
    return this.#records.size;
  }

  clear(): void {
    this.#records.clear();
    this.#order = [];
  }

  /** Creates a batch (requests already checked for custom_id shape and uniqueness). */
  create(requests: BatchRequest[], baseUrl: string, context: unknown): MessageBatch {
    const now = this.#now();
    const id = newId('msgbatch');
    const batch: MessageBatch = {
      id,
      type: 'message_batch',
      processing_status: 'in_progress',
      request_counts: { processing: requests.length, succeeded: 0, errored: 0, canceled: 0, expired: 0 },
      created_at: iso(now),
      expires_at: iso(now + BATCH_TTL_MS),
      ended_at: null,
      cancel_initiated_at: null,
      archived_at: null,
      results_url: null,
    };
    this.#records.set(id, {
      batch,
      requests,
      createdMs: now,
      dueMs: now + this.processingMs,
      expiresMs: now + BATCH_TTL_MS,
      baseUrl,
      context,
      results: null,
    });
    this.#order.push(id);
    return { ...batch, request_counts: { ...batch.request_counts } };
  }

  #settle(r: Record_): void {
    if (r.batch.processing_status === 'ended') return;
    const now = this.#now();
    const end = Math.min(r.dueMs, r.expiresMs);
    if (now < end) return;
    const counts = { processing: 0, succeeded: 0, errored: 0, canceled: 0, expired: 0 };
    const lines: string[] = [];
    const canceled = r.batch.processing_status === 'canceling';
    const expired = !canceled && r.dueMs > r.expiresMs;
    for (const req of r.requests) {
      const result: BatchResult = canceled
        ? { type: 'canceled' }
        : expired
          ? { type: 'expired' }
          : this.#process(req.params, r.context);
      counts[result.type]++;
      lines.push(JSON.stringify({ custom_id: req.custom_id, result }));
    }
    r.results = lines.length ? `${lines.join('\n')}\n` : '';
    r.requests = [];
    r.batch.processing_status = 'ended';
    r.batch.request_counts = counts;
    r.batch.ended_at = iso(end);
    r.batch.results_url = `${r.baseUrl}/v1/messages/batches/${r.batch.id}/results`;
  }

  #get(id: string): Record_ | undefined {
    const r = this.#records.get(id);
    if (r) this.#settle(r);
    return r;
  }

  /** The batch as the API returns it (a copy), or undefined. */
  get(id: string): MessageBatch | undefined {
    const r = this.#get(id);
    return r ? { ...r.batch, request_counts: { ...r.batch.request_counts } } : undefined;
  }

  /** Batches newest first. */
  list(): MessageBatch[] {
    const out: MessageBatch[] = [];
    for (let i = this.#order.length - 1; i >= 0; i--) {
      const b = this.get(this.#order[i]);
      if (b) out.push(b);
    }
    return out;
  }

  /** Starts canceling; returns the batch or undefined when unknown. An ended batch is returned unchanged. */
  cancel(id: string): MessageBatch | undefined {
    const r = this.#get(id);
    if (!r) return undefined;
    if (r.batch.processing_status === 'in_progress') {
      const now = this.#now();
      r.batch.processing_status = 'canceling';
      r.batch.cancel_initiated_at = iso(now);
      r.dueMs = Math.min(r.dueMs, now + this.cancelMs);
      this.#settle(r);
    }
    return this.get(id);
  }

  /** Deletes an ended batch: 'deleted', 'not_found', or 'in_progress' (must cancel and wait first). */
  delete(id: string): 'deleted' | 'not_found' | 'in_progress' {
    const r = this.#get(id);
    if (!r) return 'not_found';
    if (r.batch.processing_status !== 'ended') return 'in_progress';
    this.#records.delete(id);
    this.#order = this.#order.filter((x) => x !== id);
    return 'deleted';
  }

  /** The JSONL results, or 'not_found' / 'in_progress'. */
  results(id: string): string | 'not_found' | 'in_progress' {
    const r = this.#get(id);
    if (!r) return 'not_found';
    if (r.batch.processing_status !== 'ended' || r.results === null) return 'in_progress';
    return r.results;
  }
}
