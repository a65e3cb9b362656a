import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FsArtifactStore } from '../../src/artifacts/fs-artifact.store.js';
import type { ModelVersion } from '../../src/domain/model.js';
import { purgeRefusal, retentionEnds } from '../../src/domain/retention.js';
import { deleteVersionArtifacts } from '../../src/services/retention/artifact-deletion.js';
import { newVersion } from '../support/fixtures.js';

/**
 * The retention guarantee, stated once: artifacts of a verified version (READY, ARCHIVED) are never
 * deleted by any API, except by a recorded purge past retention and not on hold. Every deletion of
 * a version's artifacts in the layers above the ports goes through deleteVersionArtifacts (checked
 * here by reading the sources), and that function refuses everything else before touching storage.
 */
const DAY = 86_400_000;
const root = mkdtempSync(join(tmpdir(), 'retention-guard-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

describe('retention guard', () => {
  it('no service, resolver or route deletes artifacts except through deleteVersionArtifacts', () => {
    const callers = ['src/services', 'src/graphql', 'src/http', 'src/events']
      .flatMap((d) => files(d))
      .filter((f) => /\.discard\(/.test(readFileSync(f, 'utf8')));
    expect(callers).toEqual(['src/services/retention/artifact-deletion.ts']);
  });

  it('refuses, before touching storage, to delete the bytes of a READY or ARCHIVED version not purged, or purged under retention or on hold', async () => {
    const artifacts = await FsArtifactStore.open({ root, publicUrl: () => 'http://127.0.0.1:1', encryptionKey: randomBytes(32) });
    const created = new Date('2026-01-01T00:00:00Z');
    const base: ModelVersion = { ...newVersion('kept', { createdAt: created }), number: 1, legalHold: null, purgedAt: null, source: null, dataset: null, labels: {} };
    const deps = (days: number, now = new Date('2026-06-01T00:00:00Z')) => ({ artifacts, now: () => now, settings: { retentionDays: days } as never });
    const hold = { reason: 'case 7', setBy: 'a', setAt: created };
    const refused: [string, ModelVersion, 'failed' | 'purged', number][] = [
      ['READY as failed', { ...base, status: 'READY' }, 'failed', 0],
      ['ARCHIVED as failed', { ...base, status: 'ARCHIVED' }, 'failed', 0],
      ['ARCHIVED, purge not recorded', { ...base, status: 'ARCHIVED' }, 'purged', 0],
      ['READY with a purge record', { ...base, status: 'READY', purgedAt: created }, 'purged', 0],
      ['purged under retention', { ...base, status: 'ARCHIVED', purgedAt: created }, 'purged', 2557],
      ['purged but on hold', { ...base, status: 'ARCHIVED', purgedAt: created, legalHold: hold }, 'purged', 0],
    ];
    for (const [what, v, why, days] of refused) {
      await expect(deleteVersionArtifacts(deps(days), v, why), what).rejects.toThrow(/refusing to delete the artifacts/);
    }
    // Allowed: a FAILED version's unverified bytes, and a recorded purge past retention (nothing stored here: a no-op).
    await expect(deleteVersionArtifacts(deps(2557), { ...base, status: 'FAILED' }, 'failed')).resolves.toBeUndefined();
    await expect(deleteVersionArtifacts(deps(30), { ...base, status: 'ARCHIVED', purgedAt: created }, 'purged')).resolves.toBeUndefined();
  });

  it('counts retention from createdAt and says until when, or why not', () => {
    const v = { id: 'v1', status: 'ARCHIVED' as const, createdAt: new Date('2026-01-01T00:00:00Z'), legalHold: null };
    expect(retentionEnds(v, 2557).toISOString()).toBe('2033-01-01T00:00:00.000Z');
    expect(purgeRefusal(v, 2557, new Date('2032-12-31T23:59:59Z'))).toBe('Version v1 is under retention until 2033-01-01T00:00:00.000Z; it cannot be purged before then');
    expect(purgeRefusal(v, 2557, new Date('2033-01-01T00:00:00Z'))).toBeNull();
    expect(purgeRefusal(v, 0, new Date(v.createdAt.getTime()))).toBeNull();
    expect(purgeRefusal({ ...v, status: 'READY' }, 0, new Date(v.createdAt.getTime() + DAY))).toMatch(/is READY; only ARCHIVED versions can be purged/);
    expect(purgeRefusal({ ...v, legalHold: { reason: 'case 7', setBy: 'a', setAt: v.createdAt } }, 0, new Date())).toMatch(/on legal hold \("case 7"\)/);
  });
});
