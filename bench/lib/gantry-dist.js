// Runs the compiled CLI (dist/, built by npm run build): bench/run.ts --gantry dist.
const { main } = await import('../../dist/cli/main.js');
await main(process.argv);
