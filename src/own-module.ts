// How to start one of bugzapp's own modules in a child process or worker thread: the compiled .js
// when bugzapp runs from dist/ (an installed package: no TypeScript loader at all), else the .ts
// source through tsx (a clone under vitest or tsx; tsx is a devDependency).
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

const COMPILED = import.meta.url.endsWith('.js');

export interface OwnModule {
  /** The module's URL (give worker_threads the URL, a child process fileURLToPath of it). */
  url: URL;
  /** Node flags the process or worker needs to load it. */
  execArgv: string[];
}

/** `path` is relative to src/ and names the source, e.g. 'cli/index.ts'. */
export function ownModule(path: string): OwnModule {
  const file = COMPILED ? path.replace(/\.tsx?$/, '.js') : path;
  return { url: new URL(`./${file}`, import.meta.url), execArgv: COMPILED ? [] : ['--import', tsxLoader()] };
}

let loaderUrl: string | undefined;
function tsxLoader(): string {
  loaderUrl ??= pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
  return loaderUrl;
}
