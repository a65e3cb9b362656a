import Database from 'better-sqlite3';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { capturedLogger } from '../../support/log-capture.js';
import { newVersion, draft } from '../../support/fixtures.js';
import { type Harness, startRegistry } from '../../support/api-harness.js';

/**
 * Issue 9.8: a version stored before the nesting limit existed (written here straight to the
 * store, as an older registry would have) made every read of it a 500 that nothing logged.
 */
describe.skipIf(process.env.MONGODB_URI)('server errors are logged with their request id (SQLite file)', () => {
  let h: Harness;
  const { logger, lines: logLines } = capturedLogger();
  beforeAll(async () => {
    h = await startRegistry({}, { logger });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('answers a read of a pathologically nested stored version with a masked error, logged with the request id', async () => {
    // An older registry accepted any depth; the row is written here as it would have stored it.
    const stored = await h.app.store.registerVersion(newVersion('legacy', { hyperparameters: {} }), () => draft('MODEL_VERSION_REGISTERED'));
    const depth = 20_000;
    const db = new Database(join(h.dataDir, 'registry.db'));
    const { doc } = db.prepare('SELECT doc FROM versions WHERE id = ?').get(stored.id) as { doc: string };
    db.prepare('UPDATE versions SET doc = ? WHERE id = ?').run(doc.replace('"hyperparameters":{}', `"hyperparameters":${'{"d":'.repeat(depth)}1${'}'.repeat(depth)}`), stored.id);
    db.close();
    const res = await fetch(`${h.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': 'deep-read', ...h.auth() },
      body: JSON.stringify({ query: 'query($id: ID!) { modelVersion(id: $id) { id hyperparameters } }', variables: { id: stored.id } }),
    });
    const body = await res.text();
    expect(body).toMatch(/INTERNAL_SERVER_ERROR|Internal server error/);
    const logged = logLines.map((l) => JSON.parse(l) as { requestId?: string; level: number; msg: string }).filter((l) => l.requestId === 'deep-read' && l.level >= 50);
    expect(logged.length).toBeGreaterThan(0);
    // Other requests are still served.
    expect((await h.ok('{ viewer { role } }')).viewer.role).toBe('ADMIN');
  });
});
