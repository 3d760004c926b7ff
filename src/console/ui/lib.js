// The UI libraries, loaded from this gateway (see src/console/assets.ts):
// Preact (a 4 KB virtual DOM with hooks) and htm (JSX-like tagged templates,
// so the console runs in the browser as plain ES modules, without a build).
import htm from './vendor/htm.mjs';
import { h, render } from './vendor/preact.mjs';

export { useCallback, useEffect, useMemo, useRef, useState } from './vendor/hooks.mjs';
export { h, render };
export const html = htm.bind(h);
