/**
 * A place where the code talks to Claude: a client construction, a request,
 * or a token-count probe, with what the checks need to read its knobs.
 */
import type { SgNode } from '@ast-grep/napi';
import type { CallInfo, FnInfo, ModuleInfo } from '../code/module.ts';
import type { Evaluator } from '../code/values.ts';
import { isUnknown, type Value } from '../code/values.ts';
import type { StyleId } from './styles.ts';

export interface Site {
  style: StyleId;
  kind: 'client' | 'call' | 'probe';
  module: ModuleInfo;
  node: SgNode;
  call?: CallInfo;
  fn?: FnInfo;
  file: string;
  line: number;
  /** In a test or fixture file. */
  test: boolean;
  /** Options: an object argument (TS) or, when unset, the call's keyword arguments (Python). */
  optionsArg?: SgNode;
  /** TS second argument of SDK requests (`{ timeout, maxRetries }`). */
  requestOptions?: SgNode;
  /** For requests: the client construction they go through, when found. */
  client?: Site;
  /** Raw HTTP: the request body expression (JSON body / dict). */
  body?: SgNode;
  bodyModule?: ModuleInfo;
  /** Raw HTTP: the transport call (fetch / axios / requests / httpx / aiohttp) carrying timeouts. */
  transport?: CallInfo;
  /** Bedrock: the `body` is a JSON document (invoke_model) or converse parameters. */
  api?: 'invoke' | 'converse';
  /** A request method passed by reference to `call` (`breaker.call(client.messages.create, …)`). */
  methodRef?: SgNode;
  /** Python: the module-level / attribute binding the client is stored in. */
  binding?: string;
}

export type OptionRead =
  | { state: 'set'; value: Value; key: string }
  | { state: 'unset' }
  /** The options could hold the key but cannot be read (spread of an unknown object, `**kwargs`). */
  | { state: 'open'; reason: string };

/**
 * Reads the first of `keys` from a site's options. Dotted keys walk objects
 * (`clientOptions.timeout`). Python keyword arguments and `**splats` are read
 * through the evaluator; so are TS spreads.
 */
export function readOption(
  ev: Evaluator,
  site: Site,
  keys: readonly string[],
  from: 'options' | 'request' | 'body' = 'options',
): OptionRead {
  const m = site.module;
  const node = from === 'request' ? site.requestOptions : from === 'body' ? site.body : site.optionsArg;
  const mod = from === 'body' ? (site.bodyModule ?? m) : m;
  if (node) {
    const obj = ev.eval(node, mod);
    return readFrom(ev, obj, keys);
  }
  if (from !== 'options' || !site.call) return { state: 'unset' };
  // Python keyword arguments.
  const call = site.call;
  for (const key of keys) {
    const [head, ...rest] = key.split('.');
    const v = call.kwargs.get(head);
    if (!v) continue;
    let value = ev.eval(v, m);
    for (const r of rest) value = ev.prop(value, r);
    if (value.kind === 'unresolved' && value.reason.startsWith('no property')) continue;
    return { state: 'set', value, key };
  }
  let open: string | undefined;
  for (const splat of call.splats) {
    const inner = splat.field('argument') ?? splat.children().find((c) => c.isNamed());
    if (!inner) continue;
    const r = readFrom(ev, ev.eval(inner, m), keys);
    if (r.state === 'set') return r;
    if (r.state === 'open') open = r.reason;
  }
  return open ? { state: 'open', reason: open } : { state: 'unset' };
}

function readFrom(ev: Evaluator, obj: Value, keys: readonly string[]): OptionRead {
  if (isUnknown(obj) && obj.kind !== 'kwargs')
    return { state: 'open', reason: obj.kind === 'unresolved' ? obj.reason : `\`${obj.at.text}\`` };
  if (obj.kind === 'null') return { state: 'unset' };
  let open: string | undefined;
  for (const key of keys) {
    let value: Value = obj;
    for (const part of key.split('.')) value = ev.prop(value, part);
    if (value.kind === 'several') {
      const kept = value.options.filter(
        (o) => !(o.kind === 'unresolved' && o.reason.startsWith('no property')),
      );
      if (kept.length === 0) continue;
      value = kept.length === 1 ? kept[0] : { ...value, options: kept };
    }
    if (value.kind === 'unresolved') {
      if (value.reason.startsWith('no property')) continue;
      if (value.reason.endsWith('(spread)')) {
        open = value.reason;
        continue;
      }
    }
    return { state: 'set', value, key };
  }
  return open ? { state: 'open', reason: open } : { state: 'unset' };
}
