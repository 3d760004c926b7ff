/**
 * The chaos load: concurrent clients sending `POST /v1/messages` (half of them
 * streamed) through the gateway, each prompt carrying the planted marker.
 * Every request is recorded with how it ended, so the harness can count what
 * was answered, hung, refused or cut, and compare the request ids the clients
 * saw with the ledger's rows.
 */

export type Outcome =
  /** A complete response (any status). */
  | 'answered'
  /** Headers arrived (with a request id), then the body broke off. */
  | 'cut'
  /** Not answered within the hang timeout. */
  | 'hung'
  /** The connection was refused or reset before any response. */
  | 'conn_error';

export interface RequestRecord {
  outcome: Outcome;
  /** `gantry-request-id` of the response (answered and cut requests). */
  id?: string;
  status?: number;
  /** `error.details.gantry_code` of a Gantry error. */
  code?: string;
  stream: boolean;
  /** A stream that ended without `message_stop`: whether its last event was an SSE `error` event. */
  errorEvent?: boolean;
  /** When the request was sent and when it ended (ms since epoch). */
  sentAt: number;
  endedAt: number;
}

export interface LoadOptions {
  url: string;
  clientKey: string;
  promptMarker: string;
  /** Concurrent clients (default 4). */
  workers?: number;
  /** A request not answered within this counts as hung (default 15 s). */
  hangMs?: number;
  /** Pause between a client's requests (default 0). */
  pauseMs?: number;
}

export interface LoadRun {
  readonly records: RequestRecord[];
  /** Answered requests so far. */
  answered(): number;
  /** Stops sending; resolves when every client has finished its request in flight. */
  stop(): Promise<void>;
}

export function startLoad(o: LoadOptions): LoadRun {
  const records: RequestRecord[] = [];
  const hangMs = o.hangMs ?? 15_000;
  let stopped = false;
  let n = 0;
  const client = async (w: number) => {
    while (!stopped) {
      const stream = (n++ + w) % 2 === 0;
      const record = await send(o, stream, hangMs, n);
      records.push(record);
      // A refused connection (the gateway is gone) is retried after a pause, not in a tight loop.
      const pause = record.outcome === 'conn_error' ? Math.max(50, o.pauseMs ?? 0) : o.pauseMs;
      if (pause) await new Promise((r) => setTimeout(r, pause));
    }
  };
  const running = Array.from({ length: o.workers ?? 4 }, (_, w) => client(w));
  return {
    records,
    answered: () => records.filter((r) => r.outcome === 'answered').length,
    stop: async () => {
      stopped = true;
      await Promise.all(running);
    },
  };
}

async function send(o: LoadOptions, stream: boolean, hangMs: number, n: number): Promise<RequestRecord> {
  const sentAt = Date.now();
  const signal = AbortSignal.timeout(hangMs);
  let res: Response;
  try {
    res = await fetch(`${o.url}/v1/messages`, {
      method: 'POST',
      headers: {
        'x-api-key': o.clientKey,
        'anthropic-version': '2023-06-01',
        'content-type': 'application/json',
      },
      body: JSON.stringify({
        model: 'claude-haiku-4-5',
        max_tokens: 32,
        stream,
        messages: [{ role: 'user', content: `${o.promptMarker} request ${n}` }],
      }),
      signal,
    });
  } catch {
    return { outcome: signal.aborted ? 'hung' : 'conn_error', stream, sentAt, endedAt: Date.now() };
  }
  const id = res.headers.get('gantry-request-id') ?? undefined;
  let body: string;
  try {
    body = await res.text();
  } catch {
    return {
      outcome: signal.aborted ? 'hung' : 'cut',
      id,
      status: res.status,
      stream,
      sentAt,
      endedAt: Date.now(),
    };
  }
  const record: RequestRecord = {
    outcome: 'answered',
    id,
    status: res.status,
    stream,
    sentAt,
    endedAt: Date.now(),
  };
  if (res.status >= 400) {
    try {
      const code = (JSON.parse(body) as { error?: { details?: { gantry_code?: string } } }).error?.details
        ?.gantry_code;
      if (code) record.code = code;
    } catch {
      // not JSON: an upstream or proxy error page
    }
  } else if (stream && !body.includes('message_stop')) {
    record.outcome = 'cut';
    const last = body.replace(/\r\n/g, '\n').trimEnd().split('\n\n').at(-1) ?? '';
    record.errorEvent = /^event: error$/m.test(last);
  }
  return record;
}
