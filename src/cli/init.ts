/** `gantry init [dir]`: writes gantry.yaml and the go-live document templates (docs/audit.md). */
import { initProject } from '../audit/init.ts';

export async function run(
  dir: string | undefined,
  opts: { force?: boolean },
  io: { stdout?: { write(t: string): unknown } } = {},
): Promise<void> {
  const stdout = io.stdout ?? process.stdout;
  const result = initProject(dir ?? '.', opts);
  for (const f of result.written) stdout.write(`wrote ${f}\n`);
  for (const f of result.skipped) stdout.write(`kept ${f} (exists; --force overwrites)\n`);
  if (result.written.length > 0)
    stdout.write('next: fill in the NAME/YYYY-MM-DD placeholders, then run gantry audit\n');
}
