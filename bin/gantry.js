#!/usr/bin/env node
// Runs the CLI from source in a checkout (Node strips the types), or from the
// compiled `dist/` in a published package (Node will not strip types under
// node_modules).
//
// The Node.js version is checked first, before anything else loads, so an old
// Node says what it needs instead of failing on a `.ts` import. This file is
// kept to syntax every Node since 14 parses (no top-level await).
import { existsSync } from 'node:fs';

const REQUIRED = [22, 18];
const fromSource = new URL('../src/cli/main.ts', import.meta.url);
const runsSource = existsSync(fromSource);

/** Why this Node cannot run Gantry, or undefined when it can. */
function nodeProblem() {
  const [major, minor] = process.versions.node.split('.').map(Number);
  const tooOld = major < REQUIRED[0] || (major === REQUIRED[0] && minor < REQUIRED[1]);
  if (tooOld)
    return [
      `this is Node.js ${process.version}; Gantry needs Node.js >= ${REQUIRED.join('.')}.`,
      '  Gantry runs its TypeScript source directly through Node.js type stripping (no build step),',
      `  which Node.js ${REQUIRED.join('.')} and later do by default. Install a current Node.js (24 LTS):`,
      '    https://nodejs.org/en/download',
      '    or with a version manager: nvm install 24 && nvm use 24  |  fnm use --install-if-missing 24  |  volta install node@24',
      '  then check with `node --version` and run the command again.',
    ];
  // Type stripping is on by default from 22.18 / 23.6; --no-experimental-strip-types turns it off.
  const ts = process.features?.typescript;
  if (runsSource && !ts)
    return [
      `this Node.js ${process.version} has TypeScript type stripping turned off; Gantry runs its TypeScript source through it.`,
      '  Remove --no-experimental-strip-types from the command line or NODE_OPTIONS and run the command again.',
    ];
  return undefined;
}

const problem = nodeProblem();
if (problem) {
  process.stderr.write(`gantry: ${problem.join('\n')}\n`);
  process.exitCode = 1; // EXIT_CODES.failure in src/cli/errors.ts
} else {
  import('./tune.js')
    .then(({ tuneV8 }) => {
      tuneV8();
      const entry = runsSource ? fromSource : new URL('../dist/cli/main.js', import.meta.url);
      return import(entry.href);
    })
    .then(({ main }) => main(process.argv))
    .catch((err) => {
      process.stderr.write(`gantry: ${err?.stack ?? err}\n`);
      process.exitCode = 1;
    });
}
