#!/usr/bin/env node
// Runs the CLI from source in a checkout (Node strips the types), or from the
// compiled `dist/` in a published package (Node will not strip types under
// node_modules).
import { existsSync } from 'node:fs';
import { tuneV8 } from './tune.js';

tuneV8();

const fromSource = new URL('../src/cli/main.ts', import.meta.url);
const entry = existsSync(fromSource) ? fromSource : new URL('../dist/cli/main.js', import.meta.url);
const { main } = await import(entry.href);
await main(process.argv);
