/**
 * Claude on Amazon Bedrock (the runtime's InvokeModel APIs): the one place
 * where a Messages API request becomes Bedrock's and Bedrock's answer becomes
 * the Messages API's.
 *
 * Request: `POST /model/{id}/invoke` (or `/invoke-with-response-stream` for a
 * stream; `/count-tokens` for count_tokens), the model id from the table
 * (src/platforms/models.ts) in the path; the body is the client's without
 * `model` and `stream`, with `anthropic_version: "bedrock-2023-05-31"` and the
 * client's betas as `anthropic_beta`; signed with SigV4 (service `bedrock`)
 * by Smithy's signer with credentials from the configured references or the
 * AWS default chain (environment, shared files, SSO, web identity, container
 * and instance roles), optionally assuming `role_arn`.
 *
 * Answer: a Message is already the API's JSON; a stream's event-stream frames
 * become SSE events (./eventstream.ts); count-tokens' `{inputTokens}` becomes
 * `{input_tokens}`; an error becomes the API's envelope and status
 * (`BEDROCK_ERRORS`), with Bedrock's request id (`x-amzn-requestid`) as
 * `request-id` and in the envelope.
 */
import type { Readable } from 'node:stream';
import { Readable as NodeReadable } from 'node:stream';
import { errorTypeForStatus } from '../anthropic/errors.ts';
import type { SecretLookup } from '../pipeline/stage.ts';
import {
  betasOf,
  CLAUDE_API_ONLY_FIELDS,
  envelope,
  type PlatformAdapter,
  type PlatformHeaders,
  type PreparedRequest,
  type PrepareInput,
  type TranslatedAnswer,
} from './adapter.ts';
import type { BedrockConfig } from './config.ts';
import { bedrockStreamToSse } from './eventstream.ts';
import { bedrockIsGlobal, bedrockModelId } from './models.ts';

export const BEDROCK_VERSION = 'bedrock-2023-05-31';

/**
 * Bedrock's exceptions (the name in `x-amzn-errortype` before any `:`) and the
 * Messages API status and error type each becomes, so the SDKs raise their
 * usual classes and retry what they retry.
 */
export const BEDROCK_ERRORS: Readonly<Record<string, readonly [number, string]>> = {
  ThrottlingException: [429, 'rate_limit_error'],
  ServiceQuotaExceededException: [429, 'rate_limit_error'],
  ServiceUnavailableException: [529, 'overloaded_error'],
  ModelNotReadyException: [529, 'overloaded_error'],
  ValidationException: [400, 'invalid_request_error'],
  ResourceNotFoundException: [404, 'not_found_error'],
  AccessDeniedException: [403, 'permission_error'],
  UnrecognizedClientException: [401, 'authentication_error'],
  InvalidSignatureException: [401, 'authentication_error'],
  IncompleteSignatureException: [401, 'authentication_error'],
  ExpiredTokenException: [401, 'authentication_error'],
  MissingAuthenticationTokenException: [401, 'authentication_error'],
  ModelTimeoutException: [504, 'timeout_error'],
  ModelErrorException: [500, 'api_error'],
  InternalServerException: [500, 'api_error'],
};

type Credentials = { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
type Provider = () => Promise<Credentials>;
type Signer = import('@smithy/signature-v4').SignatureV4;

/** The credential provider of a Bedrock platform (loads the AWS packages it needs, once). */
export async function bedrockCredentials(cfg: BedrockConfig, secrets: SecretLookup): Promise<Provider> {
  let base: Provider;
  if (cfg.accessKeyId && cfg.secretAccessKey) {
    const { accessKeyId, secretAccessKey, sessionToken } = cfg;
    // Read at each signing, so a rotated reference is used at once.
    base = async () => {
      const id = secrets.value(accessKeyId);
      const secret = secrets.value(secretAccessKey);
      if (!id || !secret) throw new Error('the configured AWS credential references have no value');
      const token = sessionToken ? secrets.value(sessionToken) : undefined;
      return { accessKeyId: id, secretAccessKey: secret, ...(token ? { sessionToken: token } : {}) };
    };
  } else {
    const { fromNodeProviderChain } = await import('@aws-sdk/credential-providers');
    base = fromNodeProviderChain({
      ...(cfg.profile ? { profile: cfg.profile } : {}),
      clientConfig: { region: cfg.region },
    }) as Provider;
  }
  if (!cfg.roleArn) return base;
  const { fromTemporaryCredentials } = await import('@aws-sdk/credential-providers');
  // The role's credentials are kept until five minutes before they expire (one AssumeRole then, not per request).
  return memoize(
    fromTemporaryCredentials({
      params: { RoleArn: cfg.roleArn, RoleSessionName: 'gantry' },
      masterCredentials: base,
      clientConfig: { region: cfg.region },
    }) as Provider,
  );
}

/**
 * A provider that keeps its credentials until five minutes before their
 * `expiration` (concurrent callers share one fetch; a failure is not kept).
 */
export function memoize(provider: Provider, now: () => number = Date.now): Provider {
  let current: (Credentials & { expiration?: Date }) | undefined;
  let pending: Promise<Credentials> | undefined;
  return () => {
    const exp = current?.expiration?.getTime();
    if (current && (exp === undefined || exp - now() > 5 * 60_000)) return Promise.resolve(current);
    pending ??= provider()
      .then((c) => {
        current = c;
        return c;
      })
      .finally(() => {
        pending = undefined;
      });
    return pending;
  };
}

export async function createBedrock(
  environment: string,
  cfg: BedrockConfig,
  secrets: SecretLookup,
): Promise<PlatformAdapter> {
  const [{ SignatureV4 }, { Hash }, credentials] = await Promise.all([
    import('@smithy/signature-v4'),
    import('@smithy/core/serde'),
    bedrockCredentials(cfg, secrets),
  ]);
  const endpoint = new URL(cfg.endpoint);
  const prefix = endpoint.pathname.replace(/\/+$/, '');
  const signer: Signer = new SignatureV4({
    service: 'bedrock',
    region: cfg.region,
    credentials,
    sha256: Hash.bind(null, 'sha256'),
  });
  const naming = { inferenceProfile: cfg.inferenceProfile, models: cfg.models };

  async function signed(path: string, body: Buffer, accept: string): Promise<PreparedRequest> {
    const request = {
      method: 'POST',
      protocol: endpoint.protocol,
      hostname: endpoint.hostname,
      port: endpoint.port ? Number(endpoint.port) : undefined,
      path: prefix + path,
      query: {},
      headers: {
        host: endpoint.host,
        'content-type': 'application/json',
        accept,
      } as Record<string, string>,
      body,
    };
    const out = await signer.sign(request as Parameters<Signer['sign']>[0]);
    return { path: prefix + path, method: 'POST', headers: out.headers as Record<string, string>, body };
  }

  /** The InvokeModel body of a Messages request. */
  function invokeBody(input: PrepareInput): Buffer {
    const out: Record<string, unknown> = { anthropic_version: BEDROCK_VERSION };
    for (const [k, v] of Object.entries(input.body)) {
      if (k === 'model' || k === 'stream' || CLAUDE_API_ONLY_FIELDS.has(k)) continue;
      out[k] = v;
    }
    const betas = betasOf(input.headers);
    if (betas.length > 0 && out.anthropic_beta === undefined) out.anthropic_beta = betas;
    return Buffer.from(JSON.stringify(out), 'utf8');
  }

  const adapter: PlatformAdapter = {
    name: 'bedrock',
    environment,
    region: cfg.region,
    origin: endpoint.origin,
    modelId(route, model) {
      if (model === undefined || (route !== 'messages' && route !== 'count_tokens')) return undefined;
      return bedrockModelId(model, naming);
    },
    isGlobal: bedrockIsGlobal,
    prepare(input) {
      const id = encodeURIComponent(input.platformModel);
      if (input.route === 'count_tokens') {
        // CountTokens names the foundation model itself, not an inference profile.
        const base = encodeURIComponent(input.platformModel.replace(/^(global|us|eu|jp|apac|au)\./, ''));
        const body = Buffer.from(
          JSON.stringify({ input: { invokeModel: { body: invokeBody(input).toString('base64') } } }),
        );
        return signed(`/model/${base}/count-tokens`, body, 'application/json');
      }
      return input.stream
        ? signed(
            `/model/${id}/invoke-with-response-stream`,
            invokeBody(input),
            'application/vnd.amazon.eventstream',
          )
        : signed(`/model/${id}/invoke`, invokeBody(input), 'application/json');
    },
    requestId: (headers) => str(headers['x-amzn-requestid']),
    error(status, headers, body) {
      return bedrockError(status, headers, body);
    },
    async success(route, _stream, headers, body) {
      const out: PlatformHeaders = { ...headers };
      const requestId = str(headers['x-amzn-requestid']);
      if (requestId) out['request-id'] = requestId;
      const type = String(headers['content-type'] ?? '');
      if (type.includes('application/vnd.amazon.eventstream')) {
        delete out['content-length'];
        out['content-type'] = 'text/event-stream; charset=utf-8';
        return { headers: out, body: NodeReadable.from(bedrockStreamToSse(body)) };
      }
      if (route === 'count_tokens') {
        const parsed = JSON.parse((await readAll(body)).toString('utf8')) as { inputTokens?: unknown };
        const bytes = Buffer.from(JSON.stringify({ input_tokens: Number(parsed.inputTokens ?? 0) }));
        out['content-length'] = String(bytes.length);
        out['content-type'] = 'application/json';
        return { headers: out, body: NodeReadable.from([bytes]) };
      }
      return { headers: out, body };
    },
    async probeRequest(model) {
      const platformModel = bedrockModelId(model, naming);
      if (!platformModel) return undefined;
      return adapter.prepare({
        route: 'count_tokens',
        body: { model, messages: [{ role: 'user', content: 'ping' }] },
        stream: false,
        headers: {},
        platformModel,
      });
    },
    close() {},
  };
  return adapter;
}

/** A Bedrock error answer in the Messages API's envelope and status. */
export function bedrockError(status: number, headers: PlatformHeaders, body: Buffer): TranslatedAnswer {
  const requestId = str(headers['x-amzn-requestid']);
  let message = '';
  let typeName = str(headers['x-amzn-errortype'])?.split(':')[0];
  try {
    const parsed = JSON.parse(body.toString('utf8')) as {
      message?: unknown;
      Message?: unknown;
      __type?: unknown;
    };
    message = String(parsed.message ?? parsed.Message ?? '');
    if (!typeName && typeof parsed.__type === 'string') typeName = parsed.__type.split('#').pop();
  } catch {
    message = body.toString('utf8').slice(0, 500);
  }
  const [mapped, type] = (typeName && BEDROCK_ERRORS[typeName]) || [status, errorTypeForStatus(status)];
  const text = `Amazon Bedrock: ${typeName ? `${typeName}: ` : ''}${message || `status ${status}`}`;
  const bytes = envelope(type, text, requestId);
  const out: PlatformHeaders = {
    'content-type': 'application/json',
    'content-length': String(bytes.length),
    ...(requestId ? { 'request-id': requestId, 'x-amzn-requestid': requestId } : {}),
  };
  if (headers['retry-after'] !== undefined) out['retry-after'] = headers['retry-after'];
  return { status: mapped, headers: out, body: bytes };
}

const str = (v: string | string[] | undefined): string | undefined => (Array.isArray(v) ? v[0] : v);

async function readAll(body: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of body as AsyncIterable<Buffer>) chunks.push(c);
  return Buffer.concat(chunks);
}
