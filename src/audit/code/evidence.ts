/**
 * Controls found in code, per module, found once: which API error kinds are
 * distinguished, request-id reads, degraded answers in error paths, input
 * length limits, output scanning, moderation, token-usage reads, latency
 * recording, retry wrappers and timeouts. Each hit keeps its offset so the
 * checks can keep only hits in the scope of a Claude call (scope.ts).
 */
import type { SgNode } from '@ast-grep/napi';
import { clip, endOf, findKinds, line, named, startOf, stringLiteral } from './lang.ts';
import type { ModuleInfo } from './module.ts';

export type ErrorKind =
  | 'authentication_error'
  | 'invalid_request_error'
  | 'rate_limit_error'
  | 'api_error'
  | 'overloaded_error';
export const ERROR_KINDS: readonly ErrorKind[] = [
  'authentication_error',
  'invalid_request_error',
  'rate_limit_error',
  'api_error',
  'overloaded_error',
];

export type HitKind =
  | 'error-kind'
  | 'error-generic'
  | 'request-id'
  | 'degraded'
  | 'fallback'
  | 'input-limit'
  | 'output-scan'
  | 'moderation'
  | 'usage'
  | 'usage-whole'
  | 'latency-metric'
  | 'latency-timer'
  | 'retry'
  | 'timeout-wrapper'
  | 'ratelimit-headers';

export interface Hit {
  kind: HitKind;
  /** error-kind: the kind; usage: the field; retry: the library / loop. */
  detail: string;
  file: string;
  line: number;
  offset: number;
  text: string;
  node: SgNode;
  /** retry / timeout: the bound expression (attempts, retries, seconds). */
  bound?: SgNode;
  /** retry: whether `bound` counts attempts (first try included) or retries. */
  counts?: 'attempts' | 'retries';
  /** timeout: unit of the bound. */
  unit?: 's' | 'ms';
}

const CLASS_KINDS: [RegExp, ErrorKind][] = [
  [
    /^(AuthenticationError|PermissionDeniedError|AccessDeniedException|UnrecognizedClientException|ExpiredTokenException)$/,
    'authentication_error',
  ],
  [
    /^(BadRequestError|UnprocessableEntityError|NotFoundError|ValidationException|ContextWindowExceededError|InvalidRequestError|RequestTooLargeError|ResourceNotFoundException)$/,
    'invalid_request_error',
  ],
  [
    /^(RateLimitError|ThrottlingException|RouterRateLimitError|TooManyRequestsException)$/,
    'rate_limit_error',
  ],
  [/^(InternalServerError|InternalServerException|ModelErrorException|BadGatewayError)$/, 'api_error'],
  [
    /^(OverloadedError|ServiceUnavailableError|ServiceUnavailableException|ModelNotReadyException)$/,
    'overloaded_error',
  ],
];
const TYPE_STRINGS: [RegExp, ErrorKind][] = [
  [/^(authentication_error|permission_error)$/, 'authentication_error'],
  [/^(invalid_request_error|not_found_error|request_too_large)$/, 'invalid_request_error'],
  [/^rate_limit_error$/, 'rate_limit_error'],
  [/^api_error$/, 'api_error'],
  [/^overloaded_error$/, 'overloaded_error'],
];
const GENERIC_CLASSES =
  /^(APIError|APIStatusError|AnthropicError|APICallError|ClientError|BotoCoreError|APIConnectionError|APITimeoutError|APIConnectionTimeoutError|OpenAIError|HTTPStatusError|HTTPError|AxiosError)$/;

const STATUS_KINDS: [number[], ErrorKind][] = [
  [[401, 403], 'authentication_error'],
  [[400, 404, 413, 422], 'invalid_request_error'],
  [[429], 'rate_limit_error'],
  [[500, 502, 503, 504], 'api_error'],
  [[529], 'overloaded_error'],
];

function kindsOfStatuses(nums: number[]): ErrorKind[] {
  const out: ErrorKind[] = [];
  for (const [codes, kind] of STATUS_KINDS) if (nums.some((n) => codes.includes(n))) out.push(kind);
  return out;
}

const USAGE_FIELDS: [RegExp, string][] = [
  [/^(input_tokens|inputTokens|prompt_tokens|promptTokens|input_token_count)$/, 'input'],
  [/^(output_tokens|outputTokens|completion_tokens|completionTokens|output_token_count)$/, 'output'],
  [
    /^(cache_creation_input_tokens|cacheCreationInputTokens|cache_creation|cacheWriteInputTokens|cache_write_tokens|cacheCreationTokens)$/,
    'cache_write',
  ],
  [
    /^(cache_read_input_tokens|cacheReadInputTokens|cache_read|cachedInputTokens|cached_tokens|cacheReadTokens)$/,
    'cache_read',
  ],
  [/^(usage_metadata|usageMetadata)$/, 'whole'],
];

const OUTPUT_SCAN =
  /(?:^|[._])(redact\w*|scrub\w*|mask_?(pii|secrets?|sensitive)\w*|detect_?(pii|secrets?|sensitive)\w*|detect(Pii|PII|Secrets?|Sensitive)\w*|anonymi[sz]e\w*|deidentify\w*|scan_?(output|response|for_secrets|secrets|pii)\w*|scan(Output|Response|ForSecrets|Secrets|Pii)\w*|check_?(pii|secrets?|leak)\w*|check(Pii|Secrets?|Leak)\w*|presidio\w*|dlp\w*|guard_?output\w*|validate_?output\w*)$/i;
const OUTPUT_SCAN_LIB =
  /(^|\.)(analyzer\.analyze|AnalyzerEngine|AnonymizerEngine|scrubadub\.clean|Guard\(\)\.(parse|validate)|llm_guard\.scan_output|scan_output)$/;
const MODERATION =
  /(?:^|[._])(moderat\w*|content_?safety\w*|contentSafety\w*|check_?toxic\w*|checkToxic\w*|toxicity\w*|llama_?guard\w*|guardrail\w*|perspective\w*|classify_?(harm|safety|toxic)\w*|apply_guardrail|applyGuardrail)$/i;
/** Calls that record a latency (a metric's constructor alone records nothing). */
const LATENCY_METRIC =
  /^(histogram|recordValue|timing|distribution|observe|record_latency|recordLatency|startTimer|start_timer|labels|record|time)$/;
const TIMER_CALL =
  /^(Date\.now\(\)|performance\.now\(\)|time\.time\(\)|time\.perf_counter\(\)|time\.monotonic\(\)|process\.hrtime\.bigint\(\)|timeit\.default_timer\(\)|(datetime\.)?datetime\.now\([^)]*\)|new Date\(\))$/;
/** Logging calls (console / logger / logging / print). */
export const LOG_CALL =
  /^(console\.(log|info|warn|error|debug|trace)|print|pprint|logging\.(info|warning|warn|error|debug|exception|critical|log)|([\w$]*\.)*(logger|log|_logger|LOGGER|_log|LOG|logging|fastify\.log|request\.log|req\.log|app\.logger)\.(info|warn|warning|error|debug|trace|log|exception|critical|fatal))$/;
const RETRY_LIB =
  /^(retry|tenacity\.retry|backoff\.on_exception|backoff\.on_predicate|pRetry|p_retry|asyncRetry|retryAsync|axiosRetry|backOff|withRetry|with_retry|retryable|Retrying|AsyncRetrying)$/;

export function collectEvidence(m: ModuleInfo): Hit[] {
  const hits: Hit[] = [];
  const add = (kind: HitKind, detail: string, node: SgNode, extra: Partial<Hit> = {}) =>
    hits.push({
      kind,
      detail,
      file: m.file,
      line: line(node),
      offset: startOf(node),
      text: clip(node.text()),
      node,
      ...extra,
    });
  const ts = m.family === 'ts';
  // ---- identifiers: error classes, usage fields, request ids
  const idKinds = ts
    ? [{ kind: 'identifier' }, { kind: 'property_identifier' }, { kind: 'shorthand_property_identifier' }]
    : [{ kind: 'identifier' }];
  // only identifiers that can be evidence (one regex in the query keeps the N-API crossings few)
  const idRegex = `^(${[
    ...CLASS_KINDS.map(([re]) => re),
    GENERIC_CLASSES,
    ...USAGE_FIELDS.map(([re]) => re),
    REQUEST_ID_NAMES,
  ]
    .map((re) => re.source.replace(/^\^|\$$/g, ''))
    .join('|')})$`;
  const imports = importRanges(m);
  for (const id of m.root.findAll({
    rule: { any: idKinds.map((k) => ({ ...k, regex: idRegex })) },
  } as never)) {
    const t = id.text();
    const at = startOf(id);
    if (imports.some(([a, b]) => at >= a && at < b)) continue;
    for (const [re, kind] of CLASS_KINDS) if (re.test(t)) add('error-kind', kind, id);
    if (
      GENERIC_CLASSES.test(t) &&
      !/^(aiohttp|requests|httpx|urllib3?|socket|asyncio|discord|telegram|slack_sdk|grpc|websockets)\./.test(
        id.parent()?.text() ?? '',
      )
    )
      add('error-generic', t, id);
    for (const [re, field] of USAGE_FIELDS)
      if (re.test(t)) add(field === 'whole' ? 'usage-whole' : 'usage', field, id);
    if (REQUEST_ID_NAMES.test(t)) {
      const parent = id.parent();
      const obj = parent?.field('object')?.text() ?? '';
      const isMember =
        parent &&
        /member_expression|attribute/.test(String(parent.kind())) &&
        parent.field('object') !== null;
      if (
        isMember &&
        t !== 'aws_request_id' &&
        (/^(_request_id|requestID)$/.test(t) ||
          /(^|[._$])(err|error|e|ex|exc|exception|resp|response|res|result|message|msg|completion|raw|raw_response|rawResponse|headers|meta|\$metadata|ResponseMetadata|apiError|api_error)$/i.test(
            obj,
          ))
      )
        add('request-id', t, id);
    }
  }
  // ---- strings: error type names, class names as strings, request-id header, ratelimit headers
  for (const s of findKinds(m.root, m.family, ['string', 'template_string'])) {
    const v = stringLiteral(s);
    if (v === undefined) continue;
    for (const [re, kind] of TYPE_STRINGS) if (re.test(v)) add('error-kind', kind, s);
    for (const [re, kind] of CLASS_KINDS) if (re.test(v)) add('error-kind', kind, s);
    if (/^(request-id|x-request-id|x-amzn-requestid)$/i.test(v)) add('request-id', 'request-id header', s);
    else if (/^(RequestId|request_id|requestId|requestID)$/.test(v)) add('request-id', v, s);
    if (/^anthropic-ratelimit-/i.test(v)) add('ratelimit-headers', v, s);
    for (const [re, field] of USAGE_FIELDS) if (re.test(v) && field !== 'whole') add('usage', field, s);
  }
  // ---- status comparisons
  const cmpKinds = ts
    ? [{ kind: 'binary_expression' }, { kind: 'switch_statement' }]
    : [{ kind: 'comparison_operator' }, { kind: 'match_statement' }];
  for (const c of findKinds(
    m.root,
    m.family,
    cmpKinds.map((k) => k.kind),
  )) {
    const text = c.text();
    if (
      c.kind() === 'binary_expression' &&
      !/^(===|==|!==|!=|>=|<=|>|<)$/.test(c.field('operator')?.text() ?? '')
    )
      continue;
    const head =
      String(c.kind()).includes('switch') || String(c.kind()).includes('match')
        ? ((c.field('value') ?? c.field('subject'))?.text() ?? '')
        : text;
    if (!/status|code\b|statusCode|status_code/i.test(head)) continue;
    const body = String(c.kind()).includes('switch') || String(c.kind()).includes('match') ? text : text;
    const nums = [...body.matchAll(/\b([1-5]\d\d)\b/g)].map((x) => Number(x[1]));
    // a range (`status >= 400`) tells errors from successes, not one kind from another; `>= 500` is the server errors
    const range = /^[^=!<>]*(>=?|<=?)\s*[1-5]\d\d\s*$/.test(text) && !/==|\bin\b|case/.test(text);
    if (!range) for (const kind of kindsOfStatuses(nums)) add('error-kind', kind, c);
    else if (/>=?\s*(500|499)\b/.test(text)) add('error-kind', 'api_error', c);
  }
  // ---- calls: scanning, moderation, metrics, timers, retry libraries, timeouts
  for (const call of m.calls) {
    const ct = call.calleeText.replace(/\s+/g, '');
    const name = call.name;
    if (OUTPUT_SCAN.test(ct) && !/sanitize|escape|DOMPurify|bleach/i.test(ct))
      add('output-scan', name, call.node);
    else if (OUTPUT_SCAN_LIB.test(ct)) add('output-scan', name, call.node);
    if (MODERATION.test(ct) || /moderations\.create$/.test(ct)) add('moderation', name, call.node);
    if (
      LATENCY_METRIC.test(name) &&
      !/^(time|datetime|Date|performance|timeit)\./.test(ct) &&
      /(histogram|summary|metric|prom|timer|statsd|meter|latency|duration|datadog|otel|instrument|observ|_time\b|seconds)/i.test(
        ct,
      )
    )
      add('latency-metric', name, call.node);
    if (RETRY_LIB.test(ct) || RETRY_LIB.test(name)) {
      const bound = retryBound(call.node, m.family);
      add('retry', ct, call.node, bound);
    }
    if (/^(asyncio\.wait_for|wait_for)$/.test(ct)) {
      const b = call.kwargs.get('timeout') ?? call.args[1];
      add('timeout-wrapper', ct, call.node, { bound: b, unit: 's' });
    }
    if (/^AbortSignal\.timeout$/.test(ct))
      add('timeout-wrapper', ct, call.node, { bound: call.args[0], unit: 'ms' });
    if (/^setTimeout$/.test(ct) && /abort\(/.test(call.args[0]?.text() ?? ''))
      add('timeout-wrapper', 'abort', call.node, { bound: call.args[1], unit: 'ms' });
    if (/^(withFallbacks|with_fallbacks)$/.test(name)) add('fallback', name, call.node);
    // a circuit breaker's fallback (opossum `breaker.fallback(fn)`, circuitbreaker `fallback_function=`)
    if (name === 'fallback' && call.receiver && call.args.length > 0) add('fallback', ct, call.node);
    if (call.kwargs.has('fallback_function')) add('fallback', 'fallback_function', call.node);
    if (
      call.kwargs.has('guardrailIdentifier') ||
      call.kwargs.has('guardrailConfig') ||
      /guardrailIdentifier|guardrailConfig/.test(call.args[0]?.kind() === 'object' ? call.args[0].text() : '')
    )
      add('moderation', 'Bedrock guardrail', call.node);
    // the whole usage object handed to a recorder: every field is recorded
    for (const a of [...call.args, ...call.kwargs.values()]) {
      if (/^[\w$.?]+\.usage$/.test(a.text()) && !/^(print|console\.\w+)$/.test(ct))
        add('usage-whole', 'usage', a);
    }
    // logging an error's / response's headers logs its request-id
    if (
      LOG_CALL.test(ct) &&
      /\b(err|error|e|ex|exc|exception|response|resp|res)\b[\w.?]*\.headers\b/.test(call.node.text())
    )
      add('request-id', 'headers logged', call.node);
    if (call.kwargs.has('fallbacks') || call.kwargs.has('fallback_models'))
      add('fallback', 'fallbacks', call.node);
  }
  // decorators (@retry(...), @backoff.on_exception(...)) are calls too (found above); bare @retry:
  if (!ts) {
    for (const d of m.root.findAll({ rule: { kind: 'decorator' } } as never)) {
      const expr = named(d)[0];
      if (expr && expr.kind() !== 'call' && RETRY_LIB.test(expr.text())) add('retry', expr.text(), d);
    }
  }
  // ---- retry loops: a loop whose header names attempts / retries / tries
  const loopKinds = ts
    ? [{ kind: 'for_statement' }, { kind: 'while_statement' }, { kind: 'do_statement' }]
    : [{ kind: 'for_statement' }, { kind: 'while_statement' }];
  for (const loop of findKinds(
    m.root,
    m.family,
    loopKinds.map((k) => k.kind),
  )) {
    const header = loopHeader(loop, m.family);
    if (!/(attempt|retr(y|ies)|tries|tried|backoff)/i.test(header.text)) continue;
    add('retry', 'loop', loop, { bound: header.bound, counts: header.counts });
  }
  // ---- elapsed-time measurements: `Date.now() - start`, `time.perf_counter() - t0`
  for (const b of findKinds(m.root, m.family, ['binary_expression', 'binary_operator'])) {
    const t = b.text();
    if (
      !t.includes('-') ||
      (b.field('operator')?.text() ??
        b
          .children()
          .find((c) => !c.isNamed())
          ?.text()) !== '-'
    )
      continue;
    const left = b.field('left')?.text() ?? '';
    if (TIMER_CALL.test(left) || /\b(end|finish|stop)\w*$/i.test(left)) {
      const right = b.field('right')?.text() ?? '';
      if (
        TIMER_CALL.test(right) ||
        /\b(start|t0|begin|before|started|startTime|start_time|tic)\w*$/i.test(right)
      )
        add('latency-timer', 'elapsed', b);
    }
  }
  // ---- input limits
  collectInputLimits(m, add);
  // ---- degraded answers in error paths
  collectDegraded(m, add);
  return hits;
}

/** Inside a template string / f-string interpolation (a value shown in a message, not bounded). */
function inStringTemplate(n: SgNode): boolean {
  let cur = n.parent();
  for (let i = 0; cur && i < 8; i++) {
    const k = String(cur.kind());
    if (k === 'template_substitution' || k === 'interpolation') return true;
    if (/statement|function|lambda|block/.test(k)) return false;
    cur = cur.parent();
  }
  return false;
}

const REQUEST_ID_NAMES = /^(request_id|_request_id|requestID|requestId|RequestId|aws_request_id)$/;

/** Ranges of import statements, re-export lists and `__all__`: names mentioned there are not used. */
function importRanges(m: ModuleInfo): [number, number][] {
  const out: [number, number][] = [];
  const kinds =
    m.family === 'ts'
      ? ['import_statement', 'export_statement']
      : ['import_statement', 'import_from_statement'];
  for (const n of findKinds(m.root, m.family, kinds)) {
    if (n.kind() === 'export_statement' && !n.children().some((c) => c.kind() === 'export_clause')) continue;
    out.push([startOf(n), endOf(n)]);
  }
  if (m.family === 'py' && m.text.includes('__all__'))
    for (const a of findKinds(m.root, 'py', ['assignment']))
      if (a.field('left')?.text() === '__all__') out.push([startOf(a), endOf(a)]);
  return out;
}

function retryBound(node: SgNode, family: 'ts' | 'py'): Partial<Hit> {
  // tenacity stop_after_attempt(N) / backoff max_tries=N / p-retry {retries: N} / axios-retry {retries: N}
  const find = (re: RegExp) =>
    node.find({
      rule: {
        kind: family === 'ts' ? 'call_expression' : 'call',
        has: { field: 'function', regex: re.source },
      },
    } as never);
  const stop = find(/stop_after_attempt$/);
  if (stop) return { bound: named(stop.field('arguments'))[0], counts: 'attempts' };
  for (const a of named(node.field('arguments'))) {
    if (a.kind() === 'keyword_argument') {
      const n = a.field('name')?.text();
      if (n === 'max_tries' || n === 'stop_max_attempt_number' || n === 'tries')
        return { bound: a.field('value') ?? undefined, counts: 'attempts' };
      if (n === 'retries' || n === 'max_retries')
        return { bound: a.field('value') ?? undefined, counts: 'retries' };
    }
    if (a.kind() === 'object') {
      for (const p of named(a)) {
        const k = p.field('key')?.text();
        if (k === 'retries' || k === 'maxRetries')
          return { bound: p.field('value') ?? undefined, counts: 'retries' };
        if (k === 'numOfAttempts' || k === 'maxAttempts' || k === 'attempts')
          return { bound: p.field('value') ?? undefined, counts: 'attempts' };
      }
    }
  }
  return {};
}

function loopHeader(
  loop: SgNode,
  family: 'ts' | 'py',
): { text: string; bound?: SgNode; counts?: 'attempts' | 'retries' } {
  if (family === 'py') {
    if (loop.kind() === 'for_statement') {
      const left = loop.field('left')?.text() ?? '';
      const right = loop.field('right');
      const text = `${left} in ${right?.text() ?? ''}`;
      if (right?.kind() === 'call' && /^range$/.test(right.field('function')?.text() ?? '')) {
        const args = named(right.field('arguments'));
        // range(n) or range(1, n): attempts = n - start
        return {
          text,
          bound: args.length === 1 ? args[0] : args[1],
          counts: args.length === 1 ? 'attempts' : 'retries',
        };
      }
      return { text };
    }
    const cond = loop.field('condition');
    const c = cond?.text() ?? '';
    const cmp = cond?.kind() === 'comparison_operator' ? named(cond) : [];
    return { text: c, bound: cmp[1], counts: /<=/.test(c) ? 'retries' : 'attempts' };
  }
  if (loop.kind() === 'for_statement') {
    const cond = loop.field('condition');
    const init = loop.field('initializer')?.text() ?? '';
    const text = `${init};${cond?.text() ?? ''}`;
    const bin = cond?.kind() === 'binary_expression' ? cond : cond ? named(cond)[0] : undefined;
    const op = bin?.field('operator')?.text() ?? '';
    const startsAtOne = /=\s*1\b/.test(init);
    return {
      text,
      bound: bin?.field('right') ?? undefined,
      counts: (op === '<=' && !startsAtOne) || (op === '<' && startsAtOne) ? 'retries' : 'attempts',
    };
  }
  const cond = loop.field('condition');
  const inner = cond?.kind() === 'parenthesized_expression' ? named(cond)[0] : cond;
  const op = inner?.field('operator')?.text() ?? '';
  return {
    text: cond?.text() ?? '',
    bound: inner?.field('right') ?? undefined,
    counts: op === '<=' ? 'retries' : 'attempts',
  };
}

function collectInputLimits(
  m: ModuleInfo,
  add: (kind: HitKind, detail: string, node: SgNode, extra?: Partial<Hit>) => void,
): void {
  const ts = m.family === 'ts';
  // comparisons on length
  const cmp = ts ? 'binary_expression' : 'comparison_operator';
  for (const c of m.root.findAll({ rule: { kind: cmp } } as never)) {
    const t = c.text();
    if (
      !(ts ? /\.length\b/.test(t) : /\blen\(/.test(t)) &&
      !/count_tokens|countTokens|estimate\w*[Tt]okens|num_tokens|token_count|tokenCount|encode\(/.test(t)
    )
      continue;
    if (!/[<>]=?/.test(t)) continue;
    const nums = [...t.matchAll(/\b(\d[\d_]*)\b/g)].map((x) => Number(x[1].replace(/_/g, '')));
    const named_ =
      /(MAX|LIMIT|max|limit)\w*(CHAR|LEN|LENGTH|SIZE|TOKEN|BYTE|INPUT|PROMPT|MESSAGE)|(CHAR|LENGTH|LEN|SIZE|TOKENS?|BYTES?)\w*(MAX|LIMIT)|max_?(chars|length|len|size|tokens|input|prompt)|maxLength|maxChars|maxInput|maxTokens|maxPrompt/i.test(
        t,
      );
    if (nums.some((n) => n >= 100) || named_) add('input-limit', 'length comparison', c);
  }
  // truncation: .slice(0, N) / .substring(0, N) / [:N] (not when only shown in a message: inside a template / f-string)
  for (const call of m.calls) {
    if (
      /^(slice|substring|substr|truncate|truncateText|truncate_text|truncateString|trim_to|cut)$/.test(
        call.name,
      ) &&
      !inStringTemplate(call.node)
    ) {
      const last = call.args[call.args.length - 1];
      const lt = last?.text() ?? '';
      const n = Number(lt.replace(/_/g, ''));
      if ((Number.isFinite(n) && n >= 100) || /MAX|LIMIT|max|limit/.test(lt))
        add('input-limit', 'truncation', call.node);
    }
    // a text schema's maximum: zod z.string().max(N), yup/Joi string().max(N) (a number's or an array's is not one)
    if (
      call.name === 'max' &&
      /string\(\)/.test(call.calleeText) &&
      !/number\(|array\(/.test(call.calleeText) &&
      call.args[0]
    )
      add('input-limit', 'schema max', call.node);
  }
  if (!ts) {
    for (const s of m.root.findAll({ rule: { kind: 'slice' } } as never)) {
      const parts = named(s);
      const upper = parts[parts.length - 1]?.text() ?? '';
      const n = Number(upper.replace(/_/g, ''));
      if (
        s.text().startsWith(':') &&
        ((Number.isFinite(n) && n >= 100) || /MAX|LIMIT/.test(upper)) &&
        !inStringTemplate(s)
      )
        add('input-limit', 'truncation', s.parent() ?? s);
    }
    for (const k of m.root.findAll({ rule: { kind: 'keyword_argument' } } as never)) {
      if (/^(max_length|maxlength|max_chars)$/.test(k.field('name')?.text() ?? ''))
        add('input-limit', 'schema max_length', k);
    }
  } else {
    for (const p of m.root.findAll({ rule: { kind: 'pair' } } as never)) {
      if (/^["']?(maxLength|max_length|maxChars)["']?$/.test(p.field('key')?.text() ?? ''))
        add('input-limit', 'schema maxLength', p);
    }
  }
}

const DEGRADED_TEXT =
  /unavailable|try again|overloaded|busy|temporar(il)?y|later|fallback|cached|offline|maintenance|high demand/i;
const ERRORISH_TEXT = /\berror\b|exception|failed|failure|invalid|traceback|\{e\}|\$\{e|\berr\b/i;

/**
 * Error paths (catch / except handlers) that answer instead of failing: a
 * return or reply with a degraded message, a fallback value, or a call to a
 * function named fallback; error-status answers (HTTP 4xx/5xx) do not count.
 */
function collectDegraded(
  m: ModuleInfo,
  add: (kind: HitKind, detail: string, node: SgNode, extra?: Partial<Hit>) => void,
): void {
  const handlerKind = m.family === 'ts' ? 'catch_clause' : 'except_clause';
  for (const h of m.root.findAll({ rule: { kind: handlerKind } } as never)) {
    const body = m.family === 'ts' ? h.field('body') : (named(h).find((c) => c.kind() === 'block') ?? h);
    if (!body) continue;
    const text = body.text();
    if (/\b(throw|raise)\b/.test(text) && !/return|send|reply|say\(|yield/.test(text)) continue;
    // fallback calls / identifiers inside the handler
    for (const id of body.findAll({
      rule: { kind: m.family === 'ts' ? 'identifier' : 'identifier' },
    } as never)) {
      if (
        /fallback|cached_?(answer|response|reply)|default_?(answer|response|reply)|degraded/i.test(id.text())
      ) {
        add('degraded', id.text(), id);
        break;
      }
    }
    const statements = findKinds(body, m.family, ['return_statement', 'expression_statement', 'yield']);
    for (const st of statements) {
      const stText = st.text();
      if (
        /\b(status|status_code)\b\s*[:=(,]\s*[45]\d\d|\.status\(\s*[45]\d\d|,\s*[45]\d\d\s*\)?\s*$|HTTPException|new Error|Error\(/.test(
          stText,
        )
      )
        continue;
      if (
        st.kind() === 'expression_statement' &&
        !/(send|reply|say|respond|answer|write|emit|yield|update|edit|followup|st\.(write|markdown|error|warning|info))\w*\s*\(/i.test(
          stText,
        )
      )
        continue;
      const strings = findKinds(st, m.family, ['string', 'template_string']);
      for (const s of strings) {
        const raw = s.text();
        if (raw.length < 12) continue;
        if (DEGRADED_TEXT.test(raw) && !/^\W*(error|exception)\b/i.test(raw.replace(/^[rbfu]*["'`]+/i, ''))) {
          add('degraded', clip(raw), s);
          break;
        }
        if (
          st.kind() === 'return_statement' &&
          !ERRORISH_TEXT.test(raw) &&
          /[a-z]{3,}\s+[a-z]{3,}/i.test(raw)
        ) {
          add('degraded', clip(raw), s);
          break;
        }
      }
    }
  }
}
