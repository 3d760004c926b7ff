/**
 * The scan rules a client's safety config turns on (built once per client at
 * start-up; the system-prompt rule is added per request).
 */
import type { SafetyConfig } from './config.ts';
import { type Detector, PII_DETECTORS, SECRET_DETECTORS } from './detectors.ts';
import { systemPromptLeakDetector, systemText } from './leak.ts';
import type { ScanRule } from './scanner.ts';

export function outputRules(cfg: SafetyConfig): ScanRule[] {
  const rules: ScanRule[] = [];
  if (cfg.secrets.mode !== 'off') {
    for (const detector of SECRET_DETECTORS) rules.push({ detector, action: cfg.secrets.mode });
  }
  if (cfg.pii.mode !== 'off') {
    const types = new Set<string>(cfg.pii.types);
    for (const detector of PII_DETECTORS) {
      if (types.has(detector.label)) rules.push({ detector, action: cfg.pii.mode });
    }
  }
  return rules;
}

/** The rules for one request: the client's, plus the system-prompt leak rule when on and the prompt is long enough. */
export function requestRules(
  cfg: SafetyConfig,
  base: readonly ScanRule[],
  body: unknown,
): readonly ScanRule[] {
  if (cfg.systemPromptLeak.mode === 'off') return base;
  const system = systemText((body as { system?: unknown } | undefined)?.system);
  const leak: Detector | undefined = systemPromptLeakDetector(system, cfg.systemPromptLeak.minChars);
  return leak ? [...base, { detector: leak, action: cfg.systemPromptLeak.mode }] : base;
}
