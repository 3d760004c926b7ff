/**
 * The go-live checklist as data: ONE table of check ids (KEY-1 … INFRA-4),
 * kept identical to the table in docs/audit.md by a test. Titles follow
 * /work/shared/reference/checklist.md; severity drives the SARIF level.
 */

export const SECTIONS = {
  KEY: 'Authentication and keys',
  ERR: 'Error handling',
  COST: 'Rate limits and cost',
  REL: 'Reliability',
  OBS: 'Observability',
  SAFE: 'Content safety',
  INFRA: 'Infrastructure',
} as const;

export type SectionId = keyof typeof SECTIONS;
export type Severity = 'high' | 'medium' | 'low';

export const CHECKS = [
  {
    id: 'KEY-1',
    title: 'Production traffic uses a key from a dedicated production Workspace',
    severity: 'medium',
    rationale:
      'A dedicated Workspace isolates production spend limits, rate limits and key revocation from experiments.',
    remediation:
      'Create a production Workspace in the Anthropic Console and issue the production key from it.',
  },
  {
    id: 'KEY-2',
    title: 'Keys live in a secret manager, never in committed files or plain env files on servers',
    severity: 'high',
    rationale:
      'A key in a repository is a leaked key: anyone with read access (or a fork, or a CI log) can spend on it.',
    remediation:
      'Remove the key, revoke it in the Console, and load keys from a secret manager (env:, file: or exec: references).',
  },
  {
    id: 'KEY-3',
    title: 'Key rotation is documented and tested (zero failed requests while rotating)',
    severity: 'medium',
    rationale:
      'A leaked or expiring key must be replaced in minutes without an outage; an untested procedure fails when needed.',
    remediation:
      'Write docs/KEY-ROTATION.md (gantry init) with Procedure, Verification and Last tested sections.',
  },
  {
    id: 'KEY-4',
    title: 'Each environment (dev / staging / prod) has its own key',
    severity: 'medium',
    rationale:
      'A shared key lets a staging bug exhaust production rate limits and hides which environment spent what.',
    remediation:
      'Use one key variable per environment, or Gantry environments with distinct upstream_key references.',
  },
  {
    id: 'ERR-1',
    title: 'All API error types are handled',
    severity: 'high',
    rationale:
      'authentication, invalid request, rate limit, api and overloaded errors each need a different reaction.',
    remediation:
      'Catch the SDK error classes (RateLimitError, AuthenticationError, BadRequestError, InternalServerError, status 529) or branch on status codes.',
  },
  {
    id: 'ERR-2',
    title: 'Retries are bounded and set deliberately (maxRetries 3-5)',
    severity: 'high',
    rationale:
      'The SDK default of 2 retries gives up too early under load; unbounded retries amplify an outage.',
    remediation:
      'Set maxRetries (TypeScript) or max_retries (Python) to a value from 3 to 5 on every client.',
  },
  {
    id: 'ERR-3',
    title: 'Every error is logged with the upstream request-id',
    severity: 'medium',
    rationale: 'Anthropic support can only trace a failed request by its request-id.',
    remediation: 'Log error.request_id / err.requestID (or the request-id header) in every error handler.',
  },
  {
    id: 'ERR-4',
    title: 'A circuit breaker stops hammering the API during sustained failure',
    severity: 'high',
    rationale:
      'Without a breaker every request waits for retries during an outage, exhausting threads and rate limits.',
    remediation:
      'Wrap calls in a circuit breaker (opossum, cockatiel, pybreaker) or route through a Gantry gateway with a breaker configured.',
  },
  {
    id: 'COST-1',
    title: "The organisation's usage tier and its limits are known",
    severity: 'low',
    rationale: 'Capacity planning needs the real requests/tokens per minute the organisation may use.',
    remediation: 'Run gantry preflight --api (reads anthropic-ratelimit-* headers) and record the limits.',
  },
  {
    id: 'COST-2',
    title: 'Application-level rate limiting (requests, input and output tokens per minute)',
    severity: 'high',
    rationale: 'One abusive user or runaway loop can exhaust the organisation-wide limits for everyone.',
    remediation: 'Add a rate limiter (bottleneck, rate-limiter-flexible, slowapi) or Gantry client limits.',
  },
  {
    id: 'COST-3',
    title: 'Cost alerts and spend caps (monthly and daily)',
    severity: 'medium',
    rationale: 'Spend grows silently; a cap and an alert bound the damage of a bug or abuse.',
    remediation: 'Set Console spend limits and Gantry budgets with alerts.',
  },
  {
    id: 'COST-4',
    title: 'Model choice fits the task; model ids exist',
    severity: 'high',
    rationale:
      'An unknown or retired model id fails every request with not_found_error; an oversized model wastes money.',
    remediation: 'Use ids from the catalog (gantry models) and the cheapest model that does the task well.',
  },
  {
    id: 'COST-5',
    title: 'max_tokens is set to realistic values, not inflated',
    severity: 'medium',
    rationale: 'Inflated max_tokens reserves rate-limit capacity and lets runaway generations cost more.',
    remediation: 'Set max_tokens to the longest answer you expect, below the model maximum.',
  },
  {
    id: 'COST-6',
    title: 'Prompt caching is enabled for repeated system prompts',
    severity: 'low',
    rationale: 'Cached reads cost a tenth of input tokens and cut latency for long constant prompts.',
    remediation: 'Mark long constant system prompts with cache_control: { type: "ephemeral" }.',
  },
  {
    id: 'REL-1',
    title: 'Timeouts are configured (60-120 s per request; idle timeout for streams)',
    severity: 'high',
    rationale: 'The SDK default of 10 minutes holds connections and users hostage during an incident.',
    remediation: 'Set timeout to 60-120 s on every client (ms in TypeScript, seconds in Python).',
  },
  {
    id: 'REL-2',
    title: 'Graceful degradation when the API is unavailable',
    severity: 'medium',
    rationale:
      'Users should get a fallback model, a fallback key or a clear degraded answer, not a stack trace.',
    remediation: 'Configure a fallback model or key, or return a degraded answer when the breaker is open.',
  },
  {
    id: 'REL-3',
    title: 'A health check endpoint probes API connectivity cheaply (count_tokens)',
    severity: 'medium',
    rationale:
      'A probe that generates tokens costs money on every check; one with a wrong model id reports the API as down.',
    remediation: 'Add a /healthz route that calls messages.count_tokens with a valid model.',
  },
  {
    id: 'OBS-1',
    title: 'Request/response logging keeps metadata and redacts content',
    severity: 'high',
    rationale: 'Prompts and completions hold personal data; logs are widely readable and long-lived.',
    remediation: 'Log ids, model, usage and latency; never messages, prompts or completion text.',
  },
  {
    id: 'OBS-2',
    title: 'Latency tracked as p50 / p95 / p99 (and time to first token)',
    severity: 'medium',
    rationale: 'Averages hide the slow tail users feel.',
    remediation:
      'Record a latency histogram (prom-client, prometheus_client, OpenTelemetry) or use the Gantry gateway.',
  },
  {
    id: 'OBS-3',
    title: 'Token usage tracked per request (input, output, cache write, cache read)',
    severity: 'medium',
    rationale: 'Cost and cache effectiveness are only visible from per-request usage.',
    remediation:
      'Record usage.input_tokens, output_tokens, cache_creation_input_tokens and cache_read_input_tokens.',
  },
  {
    id: 'OBS-4',
    title: 'Cost tracked per feature and per customer',
    severity: 'low',
    rationale: 'Without attribution a cost spike cannot be traced to a feature or customer.',
    remediation:
      'Give each feature its own Gantry client (virtual key) or tag requests with metadata.user_id.',
  },
  {
    id: 'OBS-5',
    title: 'Alerting on error rates: 429s, 5xx, timeouts, auth failures',
    severity: 'medium',
    rationale: 'Errors nobody is paged for become outages.',
    remediation: 'Add alert rules (Prometheus, Gantry alerts) for 5xx, 429, timeouts and 401/403.',
  },
  {
    id: 'SAFE-1',
    title: 'System prompts are reviewed for injection resistance',
    severity: 'medium',
    rationale: 'User input can override weak instructions; a review is the only check.',
    remediation: 'Review each system prompt listed in the evidence against injection attempts.',
  },
  {
    id: 'SAFE-2',
    title: 'User input is validated and length-limited',
    severity: 'high',
    rationale: 'Unbounded input costs money and widens the injection surface.',
    remediation:
      'Reject inputs above a length (len()/.length check, zod .max, pydantic max_length) or count tokens first.',
  },
  {
    id: 'SAFE-3',
    title: 'Output is scanned for sensitive data leakage',
    severity: 'medium',
    rationale: 'Models can repeat secrets, PII or the system prompt itself.',
    remediation:
      'Scan completions for secrets and PII (e.g. presidio, a redaction function) before showing them.',
  },
  {
    id: 'SAFE-4',
    title: 'User-facing responses pass content moderation',
    severity: 'medium',
    rationale: 'Harmful output reaching users is a product and legal risk.',
    remediation: 'Call a moderation step on user-facing responses.',
  },
  {
    id: 'INFRA-1',
    title: 'Deployment uses a canary or rolling strategy',
    severity: 'medium',
    rationale: 'A bad prompt or model change should reach a few users first, not everyone at once.',
    remediation: 'Use a Kubernetes RollingUpdate, Argo Rollouts, Flagger, or Gantry canary config.',
  },
  {
    id: 'INFRA-2',
    title: 'Rollback procedure is documented and tested',
    severity: 'medium',
    rationale: 'Under pressure, an unwritten rollback takes too long or goes wrong.',
    remediation: 'Write docs/ROLLBACK.md (gantry init) and record when it was last tested.',
  },
  {
    id: 'INFRA-3',
    title: 'An incident runbook exists',
    severity: 'medium',
    rationale: 'The on-call engineer needs triage steps for each alert at 3 a.m.',
    remediation: 'Write docs/RUNBOOK.md (gantry init) with triage keyed to the alerts.',
  },
  {
    id: 'INFRA-4',
    title: 'An on-call escalation path is defined',
    severity: 'medium',
    rationale: 'An alert nobody owns is not an alert.',
    remediation: 'Write docs/ONCALL.md (gantry init) with rotation, escalation path and contacts.',
  },
] as const satisfies readonly {
  id: string;
  title: string;
  severity: Severity;
  rationale: string;
  remediation: string;
}[];

export type CheckId = (typeof CHECKS)[number]['id'];
export type CheckDef = (typeof CHECKS)[number];

export const CHECK_IDS: readonly CheckId[] = CHECKS.map((c) => c.id);

export function sectionOf(id: string): SectionId {
  return id.split('-')[0] as SectionId;
}

/** Docs page of a check, relative to the repository root. */
export function docsLink(id: string): string {
  return `docs/checks/${id}.md`;
}
