/**
 * Configuration: gantry.yaml validated once into a frozen `ResolvedConfig`,
 * secrets opened from references into live handles. Nothing on the request
 * path reads raw config or the environment; it reads these.
 */

export { DEFAULT_ENVIRONMENT, DEFAULT_UPSTREAM_KEY, formatSize, parseSize } from './fields.ts';
export type { ConfigIssue } from './hints.ts';
export { generateKey, hashKey, VIRTUAL_KEY_PREFIX } from './keys.ts';
export {
  CONFIG_FILE_NAME,
  ConfigError,
  findConfigFile,
  formatIssue,
  type LoadConfigOptions,
  loadConfig,
  type ParseConfigOptions,
  parseConfig,
} from './load.ts';
export { describeSecret, looksLikeAnthropicKey, MASK, mask, redactAnthropicKeys } from './mask.ts';
export { parseCommand, parseSecretRef, type SecretKind, type SecretRef, SecretRefError } from './refs.ts';
export { type SecretEntry, SecretRegistry, type SecretRegistryOptions } from './registry.ts';
export { deepFreeze, validateConfig } from './schema.ts';
export { type OpenSecretOptions, openSecret, type SecretHandle, type SecretLogger } from './secrets.ts';
export { configSchema } from './sections.ts';
export type * from './types.ts';
