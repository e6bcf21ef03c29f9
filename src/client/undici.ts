// undici, loaded on first use: it is ~100 modules and the largest part of the CLI's start-up, and
// `bugzapp --version`, `token` or `listen` never make a REST call. undici is CommonJS, so a lazy
// require is synchronous and callers (the RestClient constructor) stay synchronous.
import { createRequire } from 'node:module';
import type * as Undici from 'undici';

let undici: typeof Undici | undefined;

export function loadUndici(): typeof Undici {
  return (undici ??= createRequire(import.meta.url)('undici') as typeof Undici);
}
