/**
 * A stage is one step of the pipeline with one job. A factory does its set-up
 * once (resolve config, build indexes) and returns the per-request hooks:
 *
 * - `request(ex)` runs in stage order before the response. It may set
 *   `ex.response` (which ends the request phase: later stages' `request` hooks
 *   are skipped) or throw a `GantryError`, which the transport renders in the
 *   Anthropic error envelope.
 * - `complete(ex)` runs for every stage, in order, once the response has been
 *   sent in full or failed (also after an error). It must not throw and must
 *   not wait on I/O: it records, it does not block.
 */
import type { Logger } from 'pino';
import type { ResolvedConfig } from '../config/types.ts';
import type { Exchange } from './exchange.ts';

export interface Stage {
  readonly name: string;
  request?(ex: Exchange): void | Promise<void>;
  /**
   * Runs once an earlier stage has set `ex.response` (before it is rendered),
   * in stage order: output filters wrap or replace the response here (for
   * example safety.output after upstream). May throw a `GantryError`.
   */
  respond?(ex: Exchange): void | Promise<void>;
  complete?(ex: Exchange): void;
  /**
   * Releases what the stage holds (connection pools, timers) at shutdown.
   * `deadline` (ms since epoch), when given, is when the whole shutdown must
   * be over: a stage never waits past it (the ledger spills what its store
   * has not taken; the limits stage stops retrying settlements).
   */
  close?(options?: StageCloseOptions): Promise<void>;
}

export interface StageCloseOptions {
  deadline?: number;
}

/** What every stage factory receives: resolved config and shared services. */
export interface StageContext {
  readonly config: ResolvedConfig;
  readonly logger: Logger;
  readonly secrets: SecretLookup;
  /** Stages may serve routes of their own (health, metrics, admin views). */
  readonly routes: RouteRegistry;
  /** Stages that own a store register a reachability check for `/readyz`. */
  readonly readiness: ReadinessRegistry;
}

/** One readiness check's answer: `detail` says what is wrong, never a secret. */
export interface ReadinessResult {
  ok: boolean;
  detail?: string;
}

export interface ReadinessRegistry {
  add(name: string, check: () => ReadinessResult | Promise<ReadinessResult>): void;
  /** Runs every check (each bounded by `timeoutMs`); a check that throws or times out is not ok. */
  run(timeoutMs: number): Promise<Record<string, ReadinessResult>>;
}

/**
 * A route a stage serves besides the API routes (health probes, `/metrics`,
 * `/admin/...`). Answers are JSON unless `body` is a string or Buffer.
 * `access: 'admin'` requires the admin key of `admin:` in config (401 when
 * wrong; 404 when no admin key is configured, as if the route did not exist).
 */
export interface GatewayRoute {
  method: 'GET' | 'POST';
  path: string;
  access: 'admin' | 'public';
  handle(request: GatewayRouteRequest): GatewayRouteReply | Promise<GatewayRouteReply>;
}

export interface GatewayRouteRequest {
  headers: import('node:http').IncomingHttpHeaders;
  query: Readonly<Record<string, string | undefined>>;
  body: unknown;
}

export interface GatewayRouteReply {
  status: number;
  headers?: Record<string, string>;
  body: unknown;
}

export interface RouteRegistry {
  add(route: GatewayRoute): void;
}

/** Live secret values by reference spec (opened at start-up, refreshed in the background). */
export interface SecretLookup {
  /** The current value of a reference, or undefined when it does not resolve. */
  value(spec: string): string | undefined;
  /** Calls `fn` whenever the value of `spec` changes (rotation). */
  onChange(spec: string, fn: () => void): void;
}

export type StageFactory = (ctx: StageContext) => Stage | Promise<Stage>;
