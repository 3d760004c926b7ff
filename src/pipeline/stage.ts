/**
 * A stage is one step of the pipeline with one job. A factory does its set-up
 * once (resolve config, build indexes) and returns the hooks:
 *
 * - `head(ex)` runs before the request body is read, from the request line and
 *   headers alone (authenticate). Throwing answers without reading the body.
 * - `request(ex)` runs in stage order once the body is read. It may set
 *   `ex.response` (which ends the request phase: later stages' `request` hooks
 *   are skipped) or throw a `GantryError`, which the transport renders in the
 *   Anthropic error envelope.
 * - `respond(ex)` runs once an earlier stage set `ex.response`, before it is
 *   rendered, in stage order: output filters wrap or replace the response here.
 * - `complete(ex)` runs for every stage, in order, once the response has been
 *   sent in full or failed (also after an error): it releases and settles what
 *   the stage holds for the exchange. It must not throw nor wait on I/O.
 * - `observe(record)` runs after every `complete` hook, with the frozen record
 *   of the finished exchange (src/pipeline/record.ts): ledger, metrics, alerts,
 *   traces, the log line. Observers see metadata only, never content.
 *
 * Per client: a stage whose work depends on the client implements
 * `forClient(client)`, called once per client at start-up, returning the
 * hooks to run for that client (or `undefined`: nothing). The pipeline is then
 * compiled per client, so a client pays only for what it uses. `head` and
 * `close` are never per client.
 */
import type { Logger } from 'pino';
import type { ResolvedConfig } from '../config/types.ts';
import type { GatewayEvents } from '../observe/events.ts';
import type { Exchange, ExchangeClient } from './exchange.ts';
import type { ExchangeRecord } from './record.ts';

export interface StageHooks {
  request?(ex: Exchange): void | Promise<void>;
  respond?(ex: Exchange): void | Promise<void>;
  complete?(ex: Exchange): void;
  observe?(record: ExchangeRecord): void;
}

export interface Stage extends StageHooks {
  readonly name: string;
  head?(ex: Exchange): void | Promise<void>;
  /**
   * The hooks this stage runs for `client` (`undefined`: an exchange that was
   * never authenticated), replacing the stage's own request/respond/complete/
   * observe hooks. Return `undefined` when the stage has nothing to do for it.
   */
  forClient?(client: ExchangeClient | undefined): StageHooks | undefined;
  /**
   * Releases what the stage holds (connection pools, stores, timers) at
   * shutdown. `deadline` (ms since epoch), when given, is when the whole
   * shutdown must be over: a stage never waits past it (the ledger spills what
   * its store has not taken; the limits stage stops retrying settlements).
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
  /** This gateway's lifecycle events (src/observe/events.ts). */
  readonly events: GatewayEvents;
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
