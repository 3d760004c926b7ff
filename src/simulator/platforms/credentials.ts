/**
 * What the simulator's platform routes accept: AWS access keys (SigV4, each
 * with its secret and optional session token) for Bedrock, and OAuth bearer
 * tokens for Vertex, with their expiry on the simulator clock. Tests (and
 * `POST /_sim/platform-auth`) expire or revoke them to play a credential
 * failure on one platform.
 */
import { randomBytes } from 'node:crypto';

export interface AwsKey {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export interface PlatformCredentials {
  /** AWS keys the Bedrock routes accept. */
  aws: AwsKey[];
  /** Bearer tokens the Vertex routes accept; `null`: any token the simulator issued, or any non-empty one. */
  googleTokens: string[] | null;
  /** Lifetime of tokens issued by the simulator's OAuth endpoint, seconds. */
  googleTokenTtlS: number;
}

/** The AWS key the simulator accepts by default (`gantry simulate` prints it). */
export const SIMULATOR_AWS_KEY: AwsKey = {
  accessKeyId: 'AKIAGANTRYSIMULATOR0',
  secretAccessKey: 'gantry-simulator-aws-secret-access-key',
};

export type AwsCheck =
  | { ok: true; key: AwsKey }
  | { ok: false; exception: 'UnrecognizedClientException' | 'ExpiredTokenException'; message: string };

export class PlatformAuth {
  #aws = new Map<string, AwsKey>();
  #expiredAws = new Set<string>();
  #tokens: Set<string> | null = null;
  /** Tokens issued by `/token`, with their expiry (simulator clock ms). */
  #issued = new Map<string, number>();
  #revoked = new Set<string>();
  tokenTtlS = 3600;
  readonly #initial: Partial<PlatformCredentials> | undefined;
  readonly #now: () => number;

  constructor(initial: Partial<PlatformCredentials> | undefined, now: () => number) {
    this.#initial = initial;
    this.#now = now;
    this.reset();
  }

  reset(): void {
    this.#aws = new Map((this.#initial?.aws ?? [SIMULATOR_AWS_KEY]).map((k) => [k.accessKeyId, { ...k }]));
    this.#expiredAws.clear();
    this.#tokens = this.#initial?.googleTokens ? new Set(this.#initial.googleTokens) : null;
    this.#issued.clear();
    this.#revoked.clear();
    this.tokenTtlS = this.#initial?.googleTokenTtlS ?? 3600;
  }

  /** The AWS key an access key id names, or why it is refused. */
  aws(accessKeyId: string, sessionToken: string | undefined): AwsCheck {
    const key = this.#aws.get(accessKeyId);
    if (!key || (key.sessionToken !== undefined && key.sessionToken !== sessionToken)) {
      return {
        ok: false,
        exception: 'UnrecognizedClientException',
        message: 'The security token included in the request is invalid.',
      };
    }
    if (this.#expiredAws.has(accessKeyId)) {
      return {
        ok: false,
        exception: 'ExpiredTokenException',
        message: 'The security token included in the request is expired',
      };
    }
    return { ok: true, key };
  }

  addAws(key: AwsKey): void {
    this.#aws.set(key.accessKeyId, { ...key });
    this.#expiredAws.delete(key.accessKeyId);
  }

  /** Expires an AWS key's session (ExpiredTokenException from now on). */
  expireAws(accessKeyId: string): void {
    this.#expiredAws.add(accessKeyId);
  }

  restoreAws(accessKeyId: string): void {
    this.#expiredAws.delete(accessKeyId);
  }

  /** Issues an access token (the OAuth endpoint), valid for `tokenTtlS` on the simulator clock. */
  issueToken(): { token: string; expiresIn: number } {
    const token = `ya29.sim-${randomBytes(18).toString('base64url')}`;
    this.#issued.set(token, this.#now() + this.tokenTtlS * 1000);
    return { token, expiresIn: this.tokenTtlS };
  }

  /** Whether a bearer token is accepted now: `ok`, or why not. */
  google(token: string): 'ok' | 'invalid' | 'expired' {
    if (!token || this.#revoked.has(token)) return 'invalid';
    const expiry = this.#issued.get(token);
    if (expiry !== undefined) return this.#now() < expiry ? 'ok' : 'expired';
    if (this.#tokens === null) return 'ok';
    return this.#tokens.has(token) ? 'ok' : 'invalid';
  }

  /** Expires every issued token and refuses the listed ones. */
  expireGoogle(): void {
    const now = this.#now();
    for (const t of this.#issued.keys()) this.#issued.set(t, now);
  }

  revokeGoogle(tokens: readonly string[]): void {
    for (const t of tokens) this.#revoked.add(t);
  }

  /** A snapshot for `/_sim/state` (access key ids only, never secrets or tokens). */
  describe() {
    return {
      aws: [...this.#aws.keys()].map((id) => ({ accessKeyId: id, expired: this.#expiredAws.has(id) })),
      google: {
        acceptAny: this.#tokens === null,
        issued: this.#issued.size,
        revoked: this.#revoked.size,
        tokenTtlS: this.tokenTtlS,
      },
    };
  }
}
