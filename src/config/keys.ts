/**
 * Virtual keys: the credentials Gantry hands to client apps instead of the
 * upstream Anthropic key. Gantry stores only their SHA-256 (`key_sha256` in
 * gantry.yaml), so a leaked config never leaks a working key.
 */
import { hash, randomBytes } from 'node:crypto';

/** Every virtual key starts with this, so a leaked one is recognisable (and scannable). */
const VIRTUAL_KEY_PREFIX = 'gk_';

/** Base62 characters after the prefix: 43 of them carry ~256 bits. */
const VIRTUAL_KEY_RANDOM_CHARS = 43;

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/**
 * Hex SHA-256 of a key, as written in `clients[].key_sha256`.
 *
 * @example hashKey('gk_abc') // '5c8f…' (64 lowercase hex characters)
 */
export function hashKey(key: string): string {
  return keyDigest(key).toString('hex');
}

/** The SHA-256 digest of a key or credential: the one form keys are kept and compared in. */
export function keyDigest(key: string): Buffer {
  return hash('sha256', key, 'buffer');
}

/**
 * A new random virtual key: `gk_` followed by 43 base62 characters drawn from
 * `crypto.randomBytes` without modulo bias.
 */
export function generateKey(): string {
  let out = VIRTUAL_KEY_PREFIX;
  while (out.length < VIRTUAL_KEY_PREFIX.length + VIRTUAL_KEY_RANDOM_CHARS) {
    for (const byte of randomBytes(64)) {
      // 248 = 62 * 4: bytes at or above it would favour the first characters.
      if (byte >= 248) continue;
      out += BASE62[byte % 62];
      if (out.length === VIRTUAL_KEY_PREFIX.length + VIRTUAL_KEY_RANDOM_CHARS) break;
    }
  }
  return out;
}
