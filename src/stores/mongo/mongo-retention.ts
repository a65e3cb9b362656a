import type { AuditDraft, LegalHold, ModelVersion } from '../../domain/model.js';
import { ConflictError } from '../../domain/errors.js';
import type { PurgeMarkResult } from '../registry.store.js';
import { COLLECTIONS, type PendingMarker, type VersionDoc, docToVersion, draftToDoc } from './mongo-documents.js';
import { type MongoSteps, WRITE_ATTEMPTS } from './mongo-steps.js';
import { legalHoldUpdate, purgeMarkUpdate } from './mongo-updates.js';

/**
 * Legal hold and purge records of MongoRegistryStore. Each is one conditional update of the version
 * document carrying a committed marker with its audit event (op 'update': recovery appends the
 * event and clears the marker), like any other metadata change.
 */
export class MongoRetention {
  constructor(private readonly steps: MongoSteps) {}

  async setLegalHold(id: string, hold: LegalHold | null, audit: AuditDraft): Promise<ModelVersion | null> {
    const written = await this.steps.markedWrite<VersionDoc>(
      COLLECTIONS.versions,
      id,
      () => this.steps.findAndUpdate<VersionDoc>(legalHoldUpdate(id, hold, marker(audit))),
      `Version ${id}`,
    );
    return written ? docToVersion(written.doc) : null;
  }

  async markVersionPurged(id: string, purgedAt: Date, audit: AuditDraft): Promise<PurgeMarkResult> {
    for (let attempt = 1; attempt <= WRITE_ATTEMPTS; attempt++) {
      const doc = await this.steps.findById<VersionDoc>(COLLECTIONS.versions, id);
      if (!doc) return { kind: 'not-found' };
      if (doc.pending) {
        await this.steps.unblock(COLLECTIONS.versions, doc, attempt);
        continue;
      }
      const current = docToVersion(doc);
      if (current.purgedAt !== null) return { kind: 'already-purged', version: current };
      if (current.status !== 'ARCHIVED') return { kind: 'wrong-status', version: current };
      if (current.legalHold !== null) return { kind: 'on-hold', version: current };
      const committed = await this.steps.findAndUpdate<VersionDoc>(purgeMarkUpdate(id, doc.statusRev, purgedAt, marker(audit)));
      if (!committed) continue; // changed since the read: look again
      await this.steps.finish(COLLECTIONS.versions, committed, { auditAppended: false });
      return { kind: 'marked', version: docToVersion(committed) };
    }
    throw new ConflictError(`Version ${id} is being changed by another request; try again`);
  }
}

function marker(audit: AuditDraft): PendingMarker {
  return { id: audit.id, op: 'update', phase: 'committed', audit: draftToDoc(audit) };
}
