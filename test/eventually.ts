// The one polling helper of the tests: check state until it holds, never sleep-and-hope.

/**
 * Poll `fn` until it returns a truthy value, and resolve with it. A throw counts as "not yet"; at
 * the deadline the last error is rethrown (an assertion keeps its diff), prefixed with `what`.
 */
export async function eventually<T>(
  fn: () => T | undefined | null | false | Promise<T | undefined | null | false>,
  what: string,
  timeoutMs = 30_000,
  everyMs = 150,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
      last = undefined;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) {
      const prefix = `timed out after ${timeoutMs} ms waiting for: ${what}`;
      if (last instanceof Error) {
        last.message = `${prefix}: ${last.message}`;
        throw last;
      }
      throw new Error(prefix);
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
