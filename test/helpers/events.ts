// Waiting on a client's events in tests: every wait has a timeout that only fails.
/** Anything with on/off: node's EventEmitter, a ws socket, a child process. */
export interface Emitter {
  on(event: string, listener: (...args: any[]) => void): unknown;
  off(event: string, listener: (...args: any[]) => void): unknown;
}

export const WAIT_MS = 10_000;

/** Resolves with the args of the first `event` whose args satisfy `predicate`. */
export function waitForEvent<A extends unknown[]>(
  emitter: Emitter,
  event: string,
  predicate: (...args: A) => boolean = () => true,
  timeoutMs = WAIT_MS,
): Promise<A> {
  return new Promise((resolve, reject) => {
    const onEvent = (...args: unknown[]): void => {
      if (!predicate(...(args as A))) return;
      clearTimeout(timer);
      emitter.off(event, onEvent);
      resolve(args as A);
    };
    const timer = setTimeout(() => {
      emitter.off(event, onEvent);
      reject(new Error(`no matching '${event}' within ${timeoutMs} ms`));
    }, timeoutMs);
    emitter.on(event, onEvent);
  });
}

/** Polls `check` on every emitted `event` until it is true. */
export function until(emitter: Emitter, event: string, check: () => boolean, timeoutMs = WAIT_MS): Promise<void> {
  if (check()) return Promise.resolve();
  return waitForEvent(emitter, event, () => check(), timeoutMs).then(() => undefined);
}

/**
 * Re-checks `check` every `everyMs` until it holds, for state that no event announces (what another
 * process holds in Redis, its /readyz answer, a MONITOR transcript being filled); fails after the timeout.
 */
export async function pollUntil(check: () => boolean | Promise<boolean>, what: string, timeoutMs = WAIT_MS, everyMs = 10): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await check())) {
    if (performance.now() > deadline) throw new Error(`${what} not reached within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}
