/** Polls `check` until it returns true; fails with `what` and the last observation after `timeoutMs`. */
export async function waitFor(what: string, check: () => Promise<boolean | string> | boolean | string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: boolean | string = false;
  while (Date.now() < deadline) {
    last = await check();
    if (last === true) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${typeof last === 'string' ? ` (last seen: ${last})` : ''}`);
}
