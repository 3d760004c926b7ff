/**
 * Secret references: `env:NAME`, `file:/path`, `exec:command args`, parsed
 * (gantry.yaml never holds a secret, only a reference to one). Parsing never
 * repeats the reference text in an error.
 */
import { InternalError } from '../errors.ts';

export type SecretKind = 'env' | 'file' | 'exec';

/** A parsed secret reference. */
export type SecretRef =
  | { kind: 'env'; name: string }
  | { kind: 'file'; path: string }
  | { kind: 'exec'; argv: string[] };

/** Thrown for a malformed reference. The message never repeats the reference text. */
export class SecretRefError extends InternalError {
  constructor(message: string) {
    super('secret_ref_invalid', message);
  }
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const SCHEME = /^([A-Za-z][A-Za-z0-9+.-]*):/;

/**
 * Parses `env:NAME`, `file:/path` or `exec:command args`; throws a
 * `SecretRefError` otherwise.
 *
 * @example parseSecretRef('exec:vault kv get -field=key "secret/my app"')
 * // { kind: 'exec', argv: ['vault', 'kv', 'get', '-field=key', 'secret/my app'] }
 */
export function parseSecretRef(spec: string): SecretRef {
  const scheme = SCHEME.exec(spec)?.[1];
  const rest = scheme === undefined ? '' : spec.slice(scheme.length + 1);
  switch (scheme) {
    case 'env': {
      if (!ENV_NAME.test(rest)) {
        throw new SecretRefError(
          'env: must be followed by a variable name (letters, digits, _), e.g. env:ANTHROPIC_API_KEY',
        );
      }
      return { kind: 'env', name: rest };
    }
    case 'file': {
      const path = rest.trim();
      if (path === '')
        throw new SecretRefError('file: must be followed by a path, e.g. file:/run/secrets/anthropic');
      return { kind: 'file', path };
    }
    case 'exec': {
      const argv = parseCommand(rest);
      if (argv.length === 0 || argv[0] === '') {
        throw new SecretRefError(
          'exec: must be followed by a command, e.g. exec:vault kv get -field=key secret/anthropic',
        );
      }
      return { kind: 'exec', argv };
    }
    default:
      throw new SecretRefError('expected a secret reference: env:NAME, file:/path or exec:command args');
  }
}

/**
 * Splits a command line into argv the way a POSIX shell would for plain
 * words: whitespace separates, `'…'` is literal, `"…"` allows `\"`, `\\`, `\$`
 * and `` \` ``, a backslash outside quotes escapes the next character. No
 * shell runs, so expansion, pipes and redirections are rejected rather than
 * silently passed as arguments.
 */
export function parseCommand(line: string): string[] {
  const args: string[] = [];
  let current = '';
  let inWord = false;
  let i = 0;
  while (i < line.length) {
    const c = line[i];
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      if (inWord) args.push(current);
      current = '';
      inWord = false;
      i++;
    } else if (c === "'") {
      const end = line.indexOf("'", i + 1);
      if (end < 0) throw new SecretRefError('exec: command has an unterminated single quote');
      current += line.slice(i + 1, end);
      inWord = true;
      i = end + 1;
    } else if (c === '"') {
      i++;
      for (;;) {
        if (i >= line.length) throw new SecretRefError('exec: command has an unterminated double quote');
        const d = line[i];
        if (d === '"') break;
        if (d === '\\' && i + 1 < line.length && '"\\$`'.includes(line[i + 1])) {
          current += line[i + 1];
          i += 2;
        } else if (d === '$' || d === '`') {
          throw new SecretRefError(
            'exec: command uses shell expansion, but no shell runs it; put the pipeline in a script and reference the script',
          );
        } else {
          current += d;
          i++;
        }
      }
      inWord = true;
      i++;
    } else if (c === '\\') {
      if (i + 1 >= line.length) throw new SecretRefError('exec: command ends with a lone backslash');
      current += line[i + 1];
      inWord = true;
      i += 2;
    } else if ('|&;<>()$`'.includes(c)) {
      throw new SecretRefError(
        `exec: command uses shell syntax (${c}), but no shell runs it; put the pipeline in a script and reference the script`,
      );
    } else {
      current += c;
      inWord = true;
      i++;
    }
  }
  if (inWord) args.push(current);
  return args;
}
