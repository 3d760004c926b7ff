/**
 * Batch results pass through the gateway as JSONL (`GET
 * /v1/messages/batches/{id}/results`). The upstream stage feeds the bytes it
 * relays to a `BatchResultsTap`; the account stage reads the succeeded lines
 * (custom id, model, usage) and writes one ledger row per line at batch price.
 *
 * Only complete lines count (a line cut by a failure was not delivered whole).
 * Content is never kept: each line is parsed, its usage read, and dropped.
 */
import { type Usage, usageFromMessage } from '../anthropic/usage.ts';

export interface BatchResultLine {
  customId: string;
  model: string | undefined;
  usage: Usage;
}

export class BatchResultsTap {
  readonly lines: BatchResultLine[] = [];
  /** Lines that were not JSON or not a result. */
  malformed = 0;
  #pending: Buffer[] = [];

  write(chunk: Buffer): void {
    let start = 0;
    for (let nl = chunk.indexOf(0x0a); nl !== -1; nl = chunk.indexOf(0x0a, start)) {
      const part = chunk.subarray(start, nl);
      const line = this.#pending.length ? Buffer.concat([...this.#pending, part]) : part;
      this.#pending = [];
      this.#line(line);
      start = nl + 1;
    }
    if (start < chunk.length) this.#pending.push(chunk.subarray(start));
  }

  /** The last line may come without a newline. */
  end(): void {
    if (this.#pending.length) this.#line(Buffer.concat(this.#pending));
    this.#pending = [];
  }

  #line(buf: Buffer): void {
    const text = buf.toString('utf8').trim();
    if (!text) return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      this.malformed += 1;
      return;
    }
    const rec = parsed as { custom_id?: unknown; result?: { type?: unknown; message?: { model?: unknown } } };
    if (typeof rec?.custom_id !== 'string' || typeof rec.result !== 'object' || rec.result === null) {
      this.malformed += 1;
      return;
    }
    if (rec.result.type !== 'succeeded') return;
    const model = rec.result.message?.model;
    this.lines.push({
      customId: rec.custom_id,
      model: typeof model === 'string' ? model : undefined,
      usage: usageFromMessage(rec),
    });
  }
}
