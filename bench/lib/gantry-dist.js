// Runs the compiled CLI (dist/, built by npm run build): bench/run.ts --gantry dist.
import { tuneV8 } from '../../bin/tune.js';

tuneV8(); // as bin/gantry.js does
const { main } = await import('../../dist/cli/main.js');
await main(process.argv);
