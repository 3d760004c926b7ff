/**
 * Claude on Google Cloud Vertex AI (`rawPredict` / `streamRawPredict`): the
 * one place where a Messages API request becomes Vertex's and Vertex's answer
 * becomes the Messages API's.
 *
 * Request: `POST /v1/projects/{project}/locations/{region}/publishers/
 * anthropic/models/{id}:rawPredict` (`:streamRawPredict` for a stream;
 * `count-tokens:rawPredict` for count_tokens, the model id then in the body);
 * the body is the client's without `model` (kept for count-tokens), with
 * `anthropic_version: "vertex-2023-10-16"`; betas stay in `anthropic-beta`;
 * authorized with an OAuth access token (`GoogleTokenSource`, refreshed in the
 * background, never fetched on the request path once it has one).
 *
 * Answer: Messages and streams are already the API's (SSE); an error is
 * either the API's envelope (passed on) or Google's `{"error":{code,status}}`,
 * which becomes the API's envelope and status (`GOOGLE_ERRORS`).
 */
import { errorTypeForStatus } from '../anthropic/errors.ts';
import type { SecretLookup } from '../pipeline/stage.ts';
import {
  betasOf,
  CLAUDE_API_ONLY_FIELDS,
  envelope,
  type PlatformAdapter,
  type PlatformHeaders,
  type PrepareInput,
  type TranslatedAnswer,
} from './adapter.ts';
import type { VertexConfig } from './config.ts';
import { vertexModelId } from './models.ts';

export const VERTEX_VERSION = 'vertex-2023-10-16';
const SCOPE = 'https://www.googleapis.com/auth/cloud-platform';
const GOOGLE_TOKEN_URL = 'https://oauth2.googleapis.com/token';

/** Google's canonical error statuses and the Messages API status and error type each becomes. */
export const GOOGLE_ERRORS: Readonly<Record<string, readonly [number, string]>> = {
  UNAUTHENTICATED: [401, 'authentication_error'],
  PERMISSION_DENIED: [403, 'permission_error'],
  NOT_FOUND: [404, 'not_found_error'],
  INVALID_ARGUMENT: [400, 'invalid_request_error'],
  FAILED_PRECONDITION: [400, 'invalid_request_error'],
  OUT_OF_RANGE: [400, 'invalid_request_error'],
  RESOURCE_EXHAUSTED: [429, 'rate_limit_error'],
  UNAVAILABLE: [503, 'overloaded_error'],
  DEADLINE_EXCEEDED: [504, 'timeout_error'],
  INTERNAL: [500, 'api_error'],
};

/** Where a token came from and how it stands (for health and preflight; never the token). */
export interface TokenState {
  ok: boolean;
  /** Why the last refresh failed. */
  error?: string;
  /** Expiry of the current token (ms since epoch), when known. */
  expiresAt?: number;
}

/**
 * An OAuth access token for Vertex, kept fresh in the background: from an
 * `access_token` reference (re-read whenever the secret changes), or from
 * Google's auth library (a credentials JSON by reference, else Application
 * Default Credentials), refreshed five minutes before expiry.
 */
export class GoogleTokenSource {
  #token: string | undefined;
  #state: TokenState = { ok: false, error: 'not fetched yet' };
  #timer: NodeJS.Timeout | undefined;
  #closed = false;
  #inflight: Promise<void> | undefined;
  readonly #fetch: () => Promise<{ token: string; expiresAt?: number }>;

  constructor(fetch: () => Promise<{ token: string; expiresAt?: number }>) {
    this.#fetch = fetch;
  }

  get state(): TokenState {
    return this.#state;
  }

  /** The current token, fetching one first when there is none yet. */
  async token(): Promise<string> {
    if (this.#token !== undefined) return this.#token;
    await this.refresh();
    if (this.#token === undefined) throw new Error(this.#state.error ?? 'no Google access token');
    return this.#token;
  }

  /** Fetches a token now (concurrent calls share one fetch) and schedules the next refresh. */
  refresh(): Promise<void> {
    this.#inflight ??= this.#run().finally(() => {
      this.#inflight = undefined;
    });
    return this.#inflight;
  }

  /** Forgets the current token (the platform refused it): the next request fetches another. */
  invalidate(): void {
    this.#token = undefined;
  }

  async #run(): Promise<void> {
    let delay = 10_000;
    try {
      const { token, expiresAt } = await this.#fetch();
      this.#token = token;
      this.#state = { ok: true, ...(expiresAt ? { expiresAt } : {}) };
      if (expiresAt) delay = Math.max(10_000, expiresAt - Date.now() - 5 * 60_000);
      else delay = 45 * 60_000;
    } catch (err) {
      this.#state = { ok: false, error: err instanceof Error ? err.message : String(err) };
    }
    if (this.#closed) return;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => void this.refresh(), delay);
    this.#timer.unref();
  }

  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
  }
}

/** The token source of a Vertex platform (loads Google's auth library only when it is needed). */
export function vertexTokens(cfg: VertexConfig, secrets: SecretLookup): GoogleTokenSource {
  if (cfg.accessToken) {
    const spec = cfg.accessToken;
    const source = new GoogleTokenSource(async () => {
      const token = secrets.value(spec)?.trim();
      if (!token) throw new Error('the access_token reference has no value');
      return { token };
    });
    secrets.onChange(spec, () => void source.refresh());
    return source;
  }
  let client: Promise<{
    getAccessToken(): Promise<{ token?: string | null }>;
    credentials: { expiry_date?: number | null };
  }>;
  const clientOf = async () => {
    const { GoogleAuth, gaxios } = await import('google-auth-library');
    const transporter = new gaxios.Gaxios();
    if (cfg.tokenUrl) {
      const tokenUrl = cfg.tokenUrl;
      transporter.interceptors.request.add({
        resolved: async (opts) => {
          if (String(opts.url).startsWith(GOOGLE_TOKEN_URL)) opts.url = new URL(tokenUrl);
          return opts;
        },
      });
    }
    const json = cfg.credentials ? secrets.value(cfg.credentials) : undefined;
    if (cfg.credentials && !json) throw new Error('the credentials reference has no value');
    const auth = new GoogleAuth({
      scopes: SCOPE,
      ...(json ? { credentials: JSON.parse(json) } : {}),
      clientOptions: { transporter },
    });
    return (await auth.getClient()) as unknown as Awaited<typeof client>;
  };
  const source = new GoogleTokenSource(async () => {
    client ??= clientOf();
    const c = await client.catch((err) => {
      client = undefined as unknown as typeof client;
      throw err;
    });
    const { token } = await c.getAccessToken();
    if (!token) throw new Error('Google returned no access token');
    return { token, expiresAt: c.credentials.expiry_date ?? undefined };
  });
  if (cfg.credentials)
    secrets.onChange(cfg.credentials, () => {
      client = undefined as unknown as typeof client;
      void source.refresh();
    });
  return source;
}

export function createVertex(
  environment: string,
  cfg: VertexConfig,
  secrets: SecretLookup,
  tokens: GoogleTokenSource = vertexTokens(cfg, secrets),
): PlatformAdapter & { tokens: GoogleTokenSource } {
  const endpoint = new URL(cfg.endpoint);
  const prefix = endpoint.pathname.replace(/\/+$/, '');
  const base = `${prefix}/v1/projects/${encodeURIComponent(cfg.project)}/locations/${encodeURIComponent(cfg.region)}/publishers/anthropic/models`;
  // Start fetching at once: the first request should find a token.
  void tokens.refresh();

  function rawBody(input: PrepareInput, keepModel: boolean): Buffer {
    const out: Record<string, unknown> = { anthropic_version: VERTEX_VERSION };
    for (const [k, v] of Object.entries(input.body)) {
      if (CLAUDE_API_ONLY_FIELDS.has(k)) continue;
      if (k === 'model') {
        if (keepModel) out.model = input.platformModel;
        continue;
      }
      out[k] = v;
    }
    return Buffer.from(JSON.stringify(out), 'utf8');
  }

  const adapter = {
    name: 'vertex' as const,
    environment,
    region: cfg.region,
    origin: endpoint.origin,
    tokens,
    modelId(route: string, model: string | undefined) {
      if (model === undefined || (route !== 'messages' && route !== 'count_tokens')) return undefined;
      return vertexModelId(model, cfg.models);
    },
    isGlobal: () => cfg.region === 'global',
    async prepare(input: PrepareInput) {
      const token = await tokens.token();
      const headers: Record<string, string> = {
        authorization: `Bearer ${token}`,
        'content-type': 'application/json',
        accept: input.stream ? 'text/event-stream' : 'application/json',
        'accept-encoding': 'identity',
      };
      const betas = betasOf(input.headers);
      if (betas.length > 0) headers['anthropic-beta'] = betas.join(',');
      if (input.route === 'count_tokens') {
        return {
          path: `${base}/count-tokens:rawPredict`,
          method: 'POST' as const,
          headers,
          body: rawBody(input, true),
        };
      }
      // As the Vertex SDK writes it: `@` of a dated id kept as it is.
      const id = encodeURIComponent(input.platformModel).replace(/%40/g, '@');
      return {
        path: `${base}/${id}:${input.stream ? 'streamRawPredict' : 'rawPredict'}`,
        method: 'POST' as const,
        headers,
        body: rawBody(input, false),
      };
    },
    requestId(headers: PlatformHeaders, body?: Buffer) {
      const h = headers['request-id'] ?? headers['x-request-id'];
      if (h !== undefined) return Array.isArray(h) ? h[0] : h;
      if (!body) return undefined;
      try {
        const id = (JSON.parse(body.toString('utf8')) as { request_id?: unknown }).request_id;
        return typeof id === 'string' ? id : undefined;
      } catch {
        return undefined;
      }
    },
    error(status: number, headers: PlatformHeaders, body: Buffer): TranslatedAnswer {
      if (status === 401) tokens.invalidate();
      return vertexError(status, headers, body, adapter.requestId(headers, body));
    },
    async success(
      _route: string,
      _stream: boolean,
      headers: PlatformHeaders,
      body: import('node:stream').Readable,
    ) {
      return { headers, body };
    },
    async probeRequest(model: string) {
      const platformModel = vertexModelId(model, cfg.models);
      if (!platformModel) return undefined;
      return adapter.prepare({
        route: 'count_tokens',
        body: { model, messages: [{ role: 'user', content: 'ping' }] },
        stream: false,
        headers: {},
        platformModel,
      });
    },
    close() {
      tokens.close();
    },
  };
  return adapter as PlatformAdapter & { tokens: GoogleTokenSource };
}

/** A Vertex error answer in the Messages API's envelope and status. */
export function vertexError(
  status: number,
  headers: PlatformHeaders,
  body: Buffer,
  requestId: string | undefined,
): TranslatedAnswer {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    parsed = undefined;
  }
  // Vertex passes the model's own errors in the Messages API's envelope: keep them as they are.
  const p = (Array.isArray(parsed) ? parsed[0] : parsed) as
    | { type?: unknown; error?: { type?: unknown; status?: unknown; message?: unknown } }
    | undefined;
  const out: PlatformHeaders = { 'content-type': 'application/json' };
  if (headers['retry-after'] !== undefined) out['retry-after'] = headers['retry-after'];
  if (requestId) out['request-id'] = requestId;
  if (p?.type === 'error' && typeof p.error?.type === 'string') {
    out['content-length'] = String(body.length);
    return { status, headers: out, body };
  }
  const googleStatus = typeof p?.error?.status === 'string' ? p.error.status : undefined;
  const message =
    typeof p?.error?.message === 'string' ? p.error.message : body.toString('utf8').slice(0, 500);
  const [mapped, type] = (googleStatus && GOOGLE_ERRORS[googleStatus]) || [
    status,
    errorTypeForStatus(status),
  ];
  const bytes = envelope(type, `Vertex AI: ${googleStatus ? `${googleStatus}: ` : ''}${message}`, requestId);
  out['content-length'] = String(bytes.length);
  return { status: mapped, headers: out, body: bytes };
}
