/**
 * SigV4 verification for the simulator's Bedrock routes: the request is
 * signed again with the secret of the access key it names, by the same Smithy
 * signer clients use, over exactly the headers it says it signed, and the two
 * signatures are compared (constant time). The payload hash, the date (five
 * minutes of skew on the simulator clock), the scope's service and the
 * session token are checked like AWS does, each failure with AWS's exception.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { PlatformAuth } from './credentials.ts';

export type SigV4Result =
  | { ok: true; accessKeyId: string; region: string }
  | { ok: false; status: number; exception: string; message: string };

const AUTH =
  /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]{64})$/;
const SKEW_MS = 5 * 60_000;

const one = (v: string | string[] | undefined): string | undefined => (Array.isArray(v) ? v.join(',') : v);

function parseAmzDate(s: string): Date | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(s);
  return m ? new Date(Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6])) : undefined;
}

const deny = (status: number, exception: string, message: string): SigV4Result => ({
  ok: false,
  status,
  exception,
  message,
});

export async function verifySigV4(
  req: { method: string; url: string; headers: IncomingHttpHeaders; body: Buffer },
  auth: PlatformAuth,
  now: number,
  service = 'bedrock',
): Promise<SigV4Result> {
  const header = one(req.headers.authorization);
  if (!header) return deny(403, 'MissingAuthenticationTokenException', 'Missing Authentication Token');
  const m = AUTH.exec(header);
  if (!m) {
    return deny(
      403,
      'IncompleteSignatureException',
      'Authorization header requires Credential, SignedHeaders and Signature.',
    );
  }
  const [, accessKeyId, shortDate, region, scopeService, signedList, signature] = m;
  const amzDate = one(req.headers['x-amz-date']) ?? '';
  const date = parseAmzDate(amzDate);
  if (!date || !amzDate.startsWith(shortDate)) {
    return deny(
      403,
      'IncompleteSignatureException',
      'Date must be in ISO-8601 basic format and match the credential scope.',
    );
  }
  if (scopeService !== service) {
    return deny(
      403,
      'InvalidSignatureException',
      `Credential should be scoped to correct service: '${service}'.`,
    );
  }
  if (Math.abs(now - date.getTime()) > SKEW_MS) {
    return deny(
      403,
      'InvalidSignatureException',
      `Signature expired: ${amzDate} is now earlier than the allowed time window.`,
    );
  }
  const token = one(req.headers['x-amz-security-token']);
  const check = auth.aws(accessKeyId, token);
  if (!check.ok)
    return deny(check.exception === 'ExpiredTokenException' ? 403 : 403, check.exception, check.message);
  const declaredHash = one(req.headers['x-amz-content-sha256']);
  if (declaredHash && declaredHash !== 'UNSIGNED-PAYLOAD') {
    const actual = createHash('sha256').update(req.body).digest('hex');
    if (actual !== declaredHash) {
      return deny(
        400,
        'InvalidSignatureException',
        'The provided x-amz-content-sha256 header does not match what was computed.',
      );
    }
  }
  const signed = signedList.split(';');
  const headers: Record<string, string> = {};
  for (const name of signed) {
    const v = one(req.headers[name]);
    if (v === undefined) return deny(403, 'InvalidSignatureException', `Signed header ${name} is missing.`);
    headers[name] = v;
  }
  const q = req.url.indexOf('?');
  const path = q < 0 ? req.url : req.url.slice(0, q);
  const query: Record<string, string | string[]> = {};
  if (q >= 0) {
    for (const [k, v] of new URLSearchParams(req.url.slice(q + 1))) {
      const prev = query[k];
      query[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
    }
  }
  const [{ SignatureV4 }, { Hash }] = await Promise.all([
    import('@smithy/signature-v4'),
    import('@smithy/core/serde'),
  ]);
  const signer = new SignatureV4({
    service,
    region,
    credentials: {
      accessKeyId,
      secretAccessKey: check.key.secretAccessKey,
      ...(token ? { sessionToken: token } : {}),
    },
    sha256: Hash.bind(null, 'sha256'),
  });
  const resigned = await signer.sign(
    {
      method: req.method,
      protocol: 'https:',
      hostname: headers.host ?? '',
      path,
      query,
      headers,
      body: req.body,
    } as never,
    { signingDate: date, signableHeaders: new Set(signed) },
  );
  const expected =
    /Signature=([0-9a-f]{64})$/.exec(
      String((resigned as { headers: Record<string, string> }).headers.authorization),
    )?.[1] ?? '';
  const ok =
    expected.length === signature.length && timingSafeEqual(Buffer.from(expected), Buffer.from(signature));
  if (!ok) {
    return deny(
      403,
      'InvalidSignatureException',
      'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.',
    );
  }
  return { ok: true, accessKeyId, region };
}
