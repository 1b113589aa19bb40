#!/usr/bin/env node
// The `annosync` command (package.json "bin"): TypeScript run through tsx, so it works from a
// clean checkout after `npm install`, with no build step.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('./main.ts');
process.exitCode = await main(process.argv.slice(2), { env: process.env, stdout: process.stdout, stderr: process.stderr });
