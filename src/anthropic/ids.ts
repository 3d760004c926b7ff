import { randomBytes } from 'node:crypto';

const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

// A pool of random bytes refilled in bulk: ids are made on every request, and one
// randomBytes call per id would cost a syscall each.
let pool = randomBytes(4096);
let offset = 0;

/** A random base62 string of `length` characters (unbiased: bytes >= 248 are skipped). */
function base62(length: number): string {
  let out = '';
  while (out.length < length) {
    if (offset >= pool.length) {
      pool = randomBytes(4096);
      offset = 0;
    }
    const b = pool[offset++];
    if (b < 248) out += ALPHABET[b % 62];
  }
  return out;
}

/** Ids in the API's shapes: `req_…`, `msg_…`, `toolu_…`, `msgbatch_…`. */
export const newId = (prefix: 'req' | 'msg' | 'toolu' | 'srvtoolu' | 'msgbatch' | 'gtw'): string =>
  `${prefix}_01${base62(22)}`;
