/**
 * `gantry keys create --client NAME [--environment ENV]`: makes a new virtual
 * key, prints it once, and prints the gantry.yaml snippet holding only its
 * SHA-256. Gantry never stores the key itself, so it cannot show it again.
 */
import { stringify } from 'yaml';
import { isValidName, NAME_RULE } from '../config/fields.ts';
import { generateKey, hashKey } from '../config/keys.ts';
import { CliError } from './errors.ts';

export interface CreateOptions {
  client: string;
  environment?: string;
}

export async function create(
  opts: CreateOptions,
  io: { stdout?: { write(text: string): unknown } } = {},
): Promise<void> {
  const stdout = io.stdout ?? process.stdout;
  const environment = opts.environment ?? 'default';
  if (!isValidName(opts.client)) throw new CliError('usage', `--client: ${NAME_RULE}`);
  if (!isValidName(environment)) throw new CliError('usage', `--environment: ${NAME_RULE}`);

  const key = generateKey();
  const snippet = stringify({ clients: [{ name: opts.client, environment, key_sha256: hashKey(key) }] });
  stdout.write(
    [
      `New virtual key for client "${opts.client}" (environment "${environment}"):`,
      '',
      `  ${key}`,
      '',
      'This key is shown only this once: Gantry keeps only its SHA-256 and cannot show it again.',
      'Hand it to the app now (its Anthropic SDK sends it as the API key, with the base URL pointing at Gantry).',
      '',
      'Add this client to gantry.yaml (under the existing clients: list, if there is one):',
      '',
      snippet.trimEnd(),
      '',
    ].join('\n'),
  );
}
