// Formatting only: every figure arrives computed by the gateway; this file
// turns numbers into text (currency, units, local times) and nothing else.

const intFmt = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
const dec1 = new Intl.NumberFormat('en-US', { maximumFractionDigits: 1, minimumFractionDigits: 1 });
const dec2 = new Intl.NumberFormat('en-US', { maximumFractionDigits: 2 });

/** The browser's time zone and its current offset, for chart axes and tables: `Europe/Paris (UTC+01:00)`. */
export function timeZoneLabel(at = new Date()) {
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone || 'local time';
  const off = -at.getTimezoneOffset();
  const sign = off >= 0 ? '+' : '-';
  const hh = String(Math.floor(Math.abs(off) / 60)).padStart(2, '0');
  const mm = String(Math.abs(off) % 60).padStart(2, '0');
  return `${zone} (UTC${sign}${hh}:${mm})`;
}

export const int = (n) => (n === null || n === undefined ? '–' : intFmt.format(n));

/** Integer micro-dollars as dollars: cents from $1 up, more digits below. */
export function usd(micros) {
  if (micros === null || micros === undefined) return '–';
  const v = micros / 1e6;
  const digits = Math.abs(v) >= 1 || v === 0 ? 2 : Math.abs(v) >= 0.01 ? 4 : 6;
  return `$${v.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })}`;
}

/** A percentage the gateway computed (0–100). */
export const pct = (p) => (p === null || p === undefined ? '–' : `${dec1.format(p)} %`);
/** A ratio the gateway computed (0–1), as a percentage. */
export const ratioPct = (r) => (r === null || r === undefined ? '–' : `${dec1.format(r * 100)} %`);

/** Milliseconds: `850 ms`, `1.24 s`. */
export function ms(v) {
  if (v === null || v === undefined) return '–';
  return v >= 1000 ? `${dec2.format(v / 1000)} s` : `${dec2.format(v)} ms`;
}

export const rate = (v) => (v === null || v === undefined ? '–' : `${dec2.format(v)}/s`);

/** Local date and time with seconds (the zone is in the page header). */
export function time(t) {
  if (t === null || t === undefined) return '–';
  const d = typeof t === 'number' ? new Date(t) : new Date(String(t));
  if (Number.isNaN(d.getTime())) return String(t);
  return d.toLocaleString('sv-SE', { hour12: false });
}

export function clock(t) {
  const d = typeof t === 'number' ? new Date(t) : new Date(String(t));
  return d.toLocaleTimeString('sv-SE', { hour12: false });
}

/** Duration until an ISO time: `in 4 min`, `in 3 h`. */
export function until(iso, now = Date.now()) {
  const d = Date.parse(iso) - now;
  if (!Number.isFinite(d)) return '–';
  if (d <= 0) return 'now';
  if (d < 60_000) return `in ${Math.ceil(d / 1000)} s`;
  if (d < 3_600_000) return `in ${Math.round(d / 60_000)} min`;
  if (d < 172_800_000) return `in ${Math.round(d / 3_600_000)} h`;
  return `in ${Math.round(d / 86_400_000)} days`;
}

export function bytes(n) {
  return n >= 1024 ? `${dec1.format(n / 1024)} KB` : `${n} B`;
}

/** A configured duration in ms: `60 s`, `5 min`, `24 h`. */
export function duration(v) {
  if (v === null || v === undefined) return '–';
  if (v === 0) return '0';
  if (v % 3_600_000 === 0) return `${v / 3_600_000} h`;
  if (v % 60_000 === 0) return `${v / 60_000} min`;
  if (v % 1000 === 0) return `${v / 1000} s`;
  return `${v} ms`;
}
