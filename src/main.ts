import { createApp } from './app.js';
import { ConfigError, loadConfig } from './config.js';

/** Process entry: config → app → listen; SIGTERM/SIGINT → graceful stop. */
async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig(process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const app = await createApp(config);
  const url = await app.listen();
  process.stdout.write(`Model registry ready: GraphQL at ${url}/graphql\n`);
  const stop = (signal: string) => {
    process.stdout.write(`${signal}: shutting down\n`);
    app.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

main().catch((err: unknown) => {
  process.stderr.write(`Failed to start: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
