import { ConfigError, loadConfig } from './config/config.js';
import { startNode } from './node.js';

/**
 * `npm start`: one boxoffice node. Configuration comes from the environment (README "Configuration"); without
 * DATABASE_URL it uses embedded PostgreSQL under DATA_DIR, without REDIS_URL it owns every partition.
 */
async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`boxoffice: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  if (config.adminTokenGenerated) {
    // Printed once, on stderr, so a storefront operator can use the admin routes of a development node.
    process.stderr.write(`boxoffice: ADMIN_TOKEN was not set; generated one for this run: ${config.adminToken}\n`);
  }
  const node = await startNode(config);
  let closing = false;
  const shutdown = (signal: string) => {
    if (closing) return;
    closing = true;
    process.stderr.write(`boxoffice: ${signal}: closing\n`);
    node.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  await node.recovered;
}

main().catch((err: unknown) => {
  process.stderr.write(`boxoffice: failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
