/**
 * The chaos matrix: one entry per scenario, in the order `npm run chaos` runs
 * them. To add a scenario, write `chaos/scenarios/<name>.ts` exporting a
 * `Scenario` (see chaos/README.md) and list it here.
 */
import type { Scenario } from '../lib/harness.ts';
import { floodUnauthenticated } from './flood-unauthenticated.ts';
import { hostileInput } from './hostile-input.ts';
import { pgBlackholed } from './pg-blackholed.ts';
import { pgRefused } from './pg-refused.ts';
import { redisBlackholed } from './redis-blackholed.ts';
import { redisKilled } from './redis-killed.ts';
import { redisReset } from './redis-reset.ts';
import { sigkillReservations } from './sigkill-reservations.ts';
import { sigkillUnderLoad } from './sigkill-under-load.ts';
import { sigtermLedgerBlackholed } from './sigterm-ledger-blackholed.ts';
import { upstreamStorms } from './upstream-storms.ts';

export const SCENARIOS: readonly Scenario[] = [
  hostileInput,
  floodUnauthenticated,
  upstreamStorms,
  redisKilled,
  redisBlackholed,
  redisReset,
  pgRefused,
  pgBlackholed,
  sigtermLedgerBlackholed,
  sigkillUnderLoad,
  sigkillReservations,
];
