#!/usr/bin/env node
'use strict';

/*
 * `boxoffice`, the package's bin (docs/CLI.md). The CLI itself is TypeScript compiled by tsc into dist/, which is not
 * committed and which tsc writes without the run bit, so the bin cannot point there: before `npm run build` the bin
 * link would have no target (npx then caches an install without it and answers "not found" even after a build).
 * This file is committed, executable, and only loads the compiled CLI next to it. Plain CommonJS, like dist/.
 */
const { existsSync } = require('node:fs');
const { join } = require('node:path');

const repoDir = join(__dirname, '..');
const compiledCli = join(repoDir, 'dist', 'src', 'cli', 'boxoffice.js');
// The CLI's usage exit code (exitCodes.usage in src/cli/run-cli.ts): the command cannot run as set up, nothing was sent.
const notBuiltExitCode = 2;

// Checked up front rather than by catching require's MODULE_NOT_FOUND: that error also comes from a missing
// dependency or a broken import inside dist/, which must show its own stack instead of being taken for "not built".
if (existsSync(compiledCli)) {
  require(compiledCli);
} else {
  process.stderr.write(
    `error NOT_BUILT: the boxoffice CLI is not compiled yet (no ${compiledCli}); run \`npm run build\` (or \`npm start\`) in ${repoDir} first\n`,
  );
  process.exitCode = notBuiltExitCode;
}
