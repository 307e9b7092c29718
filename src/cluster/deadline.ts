/**
 * Waits for `promise` or `ms`, whichever comes first, and clears its timer either way (a forgotten timer would keep
 * a closing process alive). Resolves true when the promise settled in time; never rejects.
 */
export function settledWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  const settled = promise.then(
    () => true,
    () => true,
  );
  return Promise.race([settled, expired]).finally(() => clearTimeout(timer));
}
