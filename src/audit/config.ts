/**
 * The `audit` section of gantry.yaml:
 *
 *   audit:
 *     waivers:
 *       - check: INFRA-1
 *         reason: canary rollout lands with the platform migration (OPS-123)
 *         expires: 2027-01-31
 *
 * A waiver keeps a check from failing the gate until it expires; expired
 * waivers stop applying (the report says so).
 */
import { z } from 'zod';
import { CHECK_IDS } from './checks-table.ts';

const DATE = /^\d{4}-\d{2}-\d{2}$/;

const waiverSchema = z.strictObject({
  check: z.string().refine((v) => (CHECK_IDS as readonly string[]).includes(v), {
    error: `expected a checklist id (${CHECK_IDS[0]} … ${CHECK_IDS[CHECK_IDS.length - 1]})`,
  }),
  reason: z.string().trim().min(1, { error: 'a waiver needs a reason' }),
  expires: z
    .union([z.string(), z.date()])
    .transform((v) => (v instanceof Date ? v.toISOString().slice(0, 10) : v))
    .refine((v) => DATE.test(v) && !Number.isNaN(Date.parse(`${v}T00:00:00Z`)), {
      error: 'expected a date YYYY-MM-DD',
    }),
});

export const auditConfigSchema = z.strictObject({
  waivers: z.array(waiverSchema).default([]),
});

export type Waiver = z.output<typeof waiverSchema>;
export interface AuditConfig {
  waivers: readonly Waiver[];
}

/** True when the waiver still applies on `now` (it expires at the end of its date, UTC). */
export function waiverActive(w: Waiver, now: Date): boolean {
  return Date.parse(`${w.expires}T23:59:59.999Z`) >= now.getTime();
}
