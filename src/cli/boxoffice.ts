#!/usr/bin/env node
import { runCli } from './run-cli.js';

/**
 * `boxoffice`: the operator's CLI of a boxoffice cluster (docs/CLI.md). This file is only the entry point, loaded by
 * bin/boxoffice.js (the package's `bin`, committed executable because tsc's output has no run bit); everything it
 * does is in run-cli.ts, with real fetch and the process's streams.
 */
runCli(process.argv.slice(2), process.env, {
  fetch: globalThis.fetch,
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
}).then(
  (code) => {
    // exitCode instead of exit(): output piped to a slow reader is written out before the process ends.
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`error INTERNAL: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  },
);
