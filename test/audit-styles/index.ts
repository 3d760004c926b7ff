/** Fixture projects for every client style the audit recognises (see common.ts). */
import type { StyleFixture, Variant } from './common.ts';
import { PY_STYLES, pyProject } from './py.ts';
import { TS_STYLES, tsProject } from './ts.ts';

export type { StyleFixture, Variant } from './common.ts';

export function project(s: StyleFixture, v: Variant): Record<string, string> {
  return s.lang === 'ts' ? tsProject(s, v) : pyProject(s, v);
}

export const ALL_STYLES: StyleFixture[] = [...TS_STYLES, ...PY_STYLES];
