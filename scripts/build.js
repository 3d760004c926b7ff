// Builds dist/ for publishing: compiles src/ with tsc (relative `.ts` imports
// are rewritten to `.js`), then checks that the compiled CLI loads. From a
// checkout nothing needs building: Node runs the TypeScript sources directly.
import { execFileSync } from 'node:child_process';
import { cpSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const tsc = fileURLToPath(new URL('../node_modules/typescript/bin/tsc', import.meta.url));
rmSync(new URL('../dist', import.meta.url), { recursive: true, force: true });
execFileSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
// Data files the audit reads at run time.
cpSync(
  new URL('../src/audit/rules.yaml', import.meta.url),
  new URL('../dist/audit/rules.yaml', import.meta.url),
);
cpSync(
  new URL('../src/audit/templates', import.meta.url),
  new URL('../dist/audit/templates', import.meta.url),
  {
    recursive: true,
  },
);
// The console's browser files (ES modules, CSS): served as they are, next to the compiled routes.
cpSync(new URL('../src/console/ui', import.meta.url), new URL('../dist/console/ui', import.meta.url), {
  recursive: true,
});
const { buildProgram } = await import(new URL('../dist/cli/main.js', import.meta.url).href);
const commands = buildProgram()
  .commands.map((c) => c.name())
  .join(', ');
console.log(`dist/ built; CLI commands: ${commands}`);
