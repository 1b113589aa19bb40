#!/usr/bin/env node
// The `annosync` command (package.json "bin"). In this repository it runs the TypeScript through
// tsx, so a change needs no build; an installed package ships no TypeScript and runs the bundle
// `npm run build` made (dist/cli/main.js).
import { existsSync } from 'node:fs';

const source = new URL('./main.ts', import.meta.url);
let main;
if (existsSync(source)) {
  const { register } = await import('tsx/esm/api');
  register();
  ({ main } = await import(source.href));
} else {
  ({ main } = await import(new URL('../dist/cli/main.js', import.meta.url).href));
}
process.exitCode = await main(process.argv.slice(2), { env: process.env, stdout: process.stdout, stderr: process.stderr });
