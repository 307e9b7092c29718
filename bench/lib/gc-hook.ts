/**
 * Preloaded into the boxoffice process by the memory scenario only (NODE_OPTIONS="--expose-gc --require …"):
 * SIGUSR2 runs a full garbage collection. Without it an idle node never collects, and "heap in use" after
 * passivation would still count every stopped actor as garbage not yet collected. Nothing else changes in the
 * server; the other scenarios never load this. The listener is installed even without --expose-gc, because an
 * unhandled SIGUSR2 would terminate the process.
 */
const gc = (globalThis as { gc?: () => void }).gc;
process.on('SIGUSR2', () => gc?.());
