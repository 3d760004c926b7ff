/**
 * Platform settings of an environment (`environments.<name>.platforms`,
 * `….bedrock`, `….vertex` in gantry.yaml): where the same Claude models are
 * served besides the Claude API, with credentials by reference only.
 * Validated by zod (wired into src/config/sections.ts), resolved into frozen
 * camelCase objects (docs/platforms.md, docs/configuration.md).
 */
import { z } from 'zod';
import { baseUrl, expected, mapping, secretRef } from '../config/fields.ts';
import { BEDROCK_PROFILES, type BedrockProfile } from './models.ts';
import { PLATFORM_NAMES, type PlatformName } from './prices.ts';

const AWS_EXAMPLES = 'write a reference such as env:AWS_SECRET_ACCESS_KEY or file:/run/secrets/aws_secret';
const GOOGLE_EXAMPLES =
  'write a reference such as file:/etc/gantry/vertex-sa.json or exec:gcloud auth print-access-token';

const REGION = /^[a-z]{2,}(-[a-z0-9]+)+$|^(global|us|eu)$/;
const region = (what: string) =>
  z
    .string(expected(`${what} region, e.g. us-east-1`))
    .regex(REGION, { error: `expected ${what} region name (lowercase letters, digits and "-")` });

const modelMap = z
  .record(
    z.string(expected('a catalog model id')),
    z.string(expected('the platform model id')).min(1, { error: 'expected the platform model id' }),
    expected('a mapping of catalog model ids to platform model ids'),
  )
  .optional();

const bedrockSchema = mapping({
  region: region('an AWS'),
  inference_profile: z
    .enum(
      [...BEDROCK_PROFILES, 'none'] as [string, ...string[]],
      expected(`one of ${[...BEDROCK_PROFILES, 'none'].join(', ')}`),
    )
    .default('global'),
  access_key_id: secretRef(AWS_EXAMPLES).optional(),
  secret_access_key: secretRef(AWS_EXAMPLES).optional(),
  session_token: secretRef(AWS_EXAMPLES).optional(),
  profile: z.string(expected('an AWS profile name')).min(1).optional(),
  role_arn: z
    .string(expected('an IAM role ARN'))
    .regex(/^arn:aws[a-z-]*:iam::\d{12}:role\/.+$/, {
      error: 'expected an IAM role ARN (arn:aws:iam::…:role/…)',
    })
    .optional(),
  endpoint: baseUrl().optional(),
  models: modelMap,
});

const vertexSchema = mapping({
  project: z
    .string(expected('a Google Cloud project id'))
    .regex(/^[a-z][a-z0-9-]{4,61}[a-z0-9]$/, { error: 'expected a Google Cloud project id' }),
  region: region('a Google Cloud').default('global'),
  credentials: secretRef(GOOGLE_EXAMPLES).optional(),
  access_token: secretRef(GOOGLE_EXAMPLES).optional(),
  token_url: baseUrl().optional(),
  endpoint: baseUrl().optional(),
  models: modelMap,
});

/** The platform fields of an environment mapping (merged into `environmentSchema`). */
export const environmentPlatformFields = {
  platforms: z
    .array(
      z.enum(
        PLATFORM_NAMES as [PlatformName, ...PlatformName[]],
        expected(`one of ${PLATFORM_NAMES.join(', ')}`),
      ),
      expected('a list of platforms'),
    )
    .min(1, { error: 'expected at least one platform' })
    .optional(),
  bedrock: bedrockSchema.optional(),
  vertex: vertexSchema.optional(),
};

export interface BedrockConfig {
  region: string;
  inferenceProfile: BedrockProfile | 'none';
  /** `https://bedrock-runtime.<region>.amazonaws.com` unless set. */
  endpoint: string;
  /** Static credentials by reference; absent: the AWS default credential chain. */
  accessKeyId?: string;
  secretAccessKey?: string;
  sessionToken?: string;
  /** Shared-files profile for the default chain. */
  profile?: string;
  /** A role assumed with the chain's credentials. */
  roleArn?: string;
  models: Readonly<Record<string, string>>;
}

export interface VertexConfig {
  project: string;
  region: string;
  /** `https://aiplatform.googleapis.com` (global), `https://<region>-aiplatform.googleapis.com` unless set. */
  endpoint: string;
  /** A credentials JSON (service account, authorized user, external account) by reference; absent: ADC. */
  credentials?: string;
  /** Or an access token by reference (re-read on change). */
  accessToken?: string;
  /** OAuth token endpoint (Private Service Connect, the simulator). */
  tokenUrl?: string;
  models: Readonly<Record<string, string>>;
}

/** An environment's platforms: the order tried for one model, and each platform's settings. */
export interface EnvironmentPlatforms {
  order: readonly PlatformName[];
  bedrock?: BedrockConfig;
  vertex?: VertexConfig;
}

type RawPlatforms = {
  platforms?: PlatformName[];
  bedrock?: z.output<typeof bedrockSchema>;
  vertex?: z.output<typeof vertexSchema>;
};

/** Problems the schema cannot see (each with its path under the environment). */
export function platformProblems(raw: RawPlatforms): Array<{ path: string[]; message: string }> {
  const out: Array<{ path: string[]; message: string }> = [];
  const b = raw.bedrock;
  if (b && (b.access_key_id === undefined) !== (b.secret_access_key === undefined)) {
    out.push({
      path: ['bedrock'],
      message: 'set both access_key_id and secret_access_key, or neither (the AWS default credential chain)',
    });
  }
  if (b?.session_token !== undefined && b.access_key_id === undefined) {
    out.push({
      path: ['bedrock', 'session_token'],
      message: 'session_token needs access_key_id and secret_access_key',
    });
  }
  const v = raw.vertex;
  if (v?.credentials !== undefined && v.access_token !== undefined) {
    out.push({ path: ['vertex'], message: 'set credentials or access_token, not both' });
  }
  for (const [i, p] of (raw.platforms ?? []).entries()) {
    if (p !== 'anthropic' && raw[p] === undefined) {
      out.push({
        path: ['platforms', String(i)],
        message: `platform ${p} is not configured in this environment`,
      });
    }
    if (raw.platforms?.indexOf(p) !== i)
      out.push({ path: ['platforms', String(i)], message: `${p} is listed twice` });
  }
  return out;
}

/** The resolved platforms of an environment, or undefined when it only uses the Claude API. */
export function resolvePlatforms(
  raw: RawPlatforms,
  ref: (spec: string) => string,
): EnvironmentPlatforms | undefined {
  if (!raw.bedrock && !raw.vertex && !raw.platforms) return undefined;
  const order =
    raw.platforms ??
    (['anthropic', ...(raw.bedrock ? ['bedrock'] : []), ...(raw.vertex ? ['vertex'] : [])] as PlatformName[]);
  const out: EnvironmentPlatforms = { order };
  const b = raw.bedrock;
  if (b) {
    out.bedrock = {
      region: b.region,
      inferenceProfile: b.inference_profile as BedrockProfile | 'none',
      endpoint: b.endpoint ?? `https://bedrock-runtime.${b.region}.amazonaws.com`,
      ...(b.access_key_id ? { accessKeyId: ref(b.access_key_id) } : {}),
      ...(b.secret_access_key ? { secretAccessKey: ref(b.secret_access_key) } : {}),
      ...(b.session_token ? { sessionToken: ref(b.session_token) } : {}),
      ...(b.profile ? { profile: b.profile } : {}),
      ...(b.role_arn ? { roleArn: b.role_arn } : {}),
      models: { ...b.models },
    };
  }
  const v = raw.vertex;
  if (v) {
    out.vertex = {
      project: v.project,
      region: v.region,
      endpoint: v.endpoint ?? vertexEndpoint(v.region),
      ...(v.credentials ? { credentials: ref(v.credentials) } : {}),
      ...(v.access_token ? { accessToken: ref(v.access_token) } : {}),
      ...(v.token_url ? { tokenUrl: v.token_url } : {}),
      models: { ...v.models },
    };
  }
  return out;
}

/** Vertex AI's endpoint for a region (as the Vertex SDK derives it). */
function vertexEndpoint(region: string): string {
  if (region === 'global') return 'https://aiplatform.googleapis.com';
  if (region === 'us' || region === 'eu') return `https://aiplatform.${region}.rep.googleapis.com`;
  return `https://${region}-aiplatform.googleapis.com`;
}

/** Every secret reference of an environment's platforms, with its config path (for the secret registry). */
export function platformSecretRefs(
  env: string,
  p: EnvironmentPlatforms | undefined,
): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  const b = p?.bedrock;
  if (b?.accessKeyId) out.push([b.accessKeyId, `environments.${env}.bedrock.access_key_id`]);
  if (b?.secretAccessKey) out.push([b.secretAccessKey, `environments.${env}.bedrock.secret_access_key`]);
  if (b?.sessionToken) out.push([b.sessionToken, `environments.${env}.bedrock.session_token`]);
  const v = p?.vertex;
  if (v?.credentials) out.push([v.credentials, `environments.${env}.vertex.credentials`]);
  if (v?.accessToken) out.push([v.accessToken, `environments.${env}.vertex.access_token`]);
  return out;
}
