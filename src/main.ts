import { createApp } from './app.js';
import { SigningSecretError } from './artifacts/signing-secret.js';
import { EncryptionKeyError } from './artifacts/encryption/encryption-key.js';
import { ConfigError, loadConfig } from './config.js';
import { AuditSigningKeyError } from './services/checkpoints/audit-signing-key.js';
import { WebhookKeyError } from './events/webhooks/secret-box.js';

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
  if (app.bootstrapSecretFile) {
    // Log collectors keep whatever reaches stdout: the secret itself goes to a 0600 file, and to
    // the screen only when a person is watching it.
    const lines = [
      '',
      `No admin token existed, so one was created. Its secret is in ${app.bootstrapSecretFile} (readable by this user only).`,
    ];
    if (process.stdout.isTTY) lines.push(`  export REGISTRY_TOKEN=${app.bootstrapSecret}`);
    else lines.push(`  export REGISTRY_TOKEN=$(cat ${app.bootstrapSecretFile})`);
    lines.push(
      `  curl -H "Authorization: Bearer $REGISTRY_TOKEN" -H 'content-type: application/json' ${url}/graphql -d '{"query":"{ viewer { name role } }"}'`,
      'Create tokens for pipelines and workers with the createApiToken mutation, then revoke this one and delete the file.',
      '',
    );
    process.stdout.write(lines.join('\n') + '\n');
  }
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
  if (err instanceof SigningSecretError || err instanceof EncryptionKeyError || err instanceof AuditSigningKeyError || err instanceof WebhookKeyError) {
    process.stderr.write(`Refusing to start: ${err.message}\n`);
    process.exit(2);
  }
  process.stderr.write(`Failed to start: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
