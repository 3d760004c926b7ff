/**
 * Summarises a V8 .heapsnapshot: self size and count by constructor (or node
 * type), largest first. For bench/memory.ts --snapshot.
 *
 *   node bench/lib/heap-summary.ts FILE [--top 40] [--per N]
 *
 * `--per N` also divides each size by N (e.g. the number of open streams).
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

const { values: o, positionals } = parseArgs({
  allowPositionals: true,
  options: { top: { type: 'string', default: '40' }, per: { type: 'string' } },
});
interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
  nodes: number[];
  strings: string[];
}
const snap = JSON.parse(readFileSync(positionals[0], 'utf8')) as Snapshot;
const fields = snap.snapshot.meta.node_fields;
const types = snap.snapshot.meta.node_types[0];
const F = fields.length;
const iType = fields.indexOf('type');
const iName = fields.indexOf('name');
const iSize = fields.indexOf('self_size');
const by = new Map<string, { size: number; count: number }>();
let total = 0;
for (let i = 0; i < snap.nodes.length; i += F) {
  const type = types[snap.nodes[i + iType]];
  const name =
    type === 'object' || type === 'native' || type === 'closure'
      ? snap.strings[snap.nodes[i + iName]]
      : `(${type})`;
  const key = type === 'closure' ? `closure ${name}` : name;
  const size = snap.nodes[i + iSize];
  total += size;
  const e = by.get(key) ?? { size: 0, count: 0 };
  e.size += size;
  e.count += 1;
  by.set(key, e);
}
const per = o.per ? Number(o.per) : undefined;
console.log(
  `total self size ${(total / 1048576).toFixed(1)} MiB${per ? `, ${(total / per / 1024).toFixed(1)} KiB per ${per}` : ''}`,
);
for (const [k, e] of [...by].sort((a, b) => b[1].size - a[1].size).slice(0, Number(o.top))) {
  console.log(
    `${(e.size / 1024).toFixed(0).padStart(9)} KiB ${String(e.count).padStart(8)}  ${per ? `${(e.size / per).toFixed(0).padStart(6)} B/each ` : ''}${k.slice(0, 80)}`,
  );
}
