#!/usr/bin/env node
// The published CLI's entry: plain JavaScript that any Node can parse, so that an old Node is told
// what it needs before anything is imported. Then it runs the compiled CLI from dist/ (`npm run
// build`; `npm ci` and `npm pack` build it), with no TypeScript loader.
const [major] = process.versions.node.split('.').map(Number);
if (major < 24) {
  process.stderr.write(`bugzapp needs Node.js 24 or newer; this is v${process.versions.node}.\n`);
  process.exit(1);
}

const { enableCompileCache } = await import('node:module');
// caches V8's compiled code between runs (in the OS temp dir), which halves start-up after the first
enableCompileCache?.();

let cli;
try {
  cli = await import('../dist/cli/index.js');
} catch (err) {
  if (err?.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('/dist/cli/index.js')) {
    process.stderr.write('bugzapp: dist/ is missing; run `npm run build` (npm ci and npm pack do it for you).\n');
    process.exit(1);
  }
  throw err;
}
await cli.main(process.argv);
