import { AuditAction } from '../../domain/audit-actions.js';
import type { AuditEvent } from '../../domain/model.js';
import type { AuditFilter, RegistryStore } from '../../stores/registry.store.js';

/** Reads of the audit log the checkpoints need: its head, and the AUDIT_CHECKPOINT_WRITTEN records. */
const ALL: AuditFilter = { modelName: null, actor: null, action: null, since: null, until: null };
const RECORDS: AuditFilter = { ...ALL, action: AuditAction.checkpointWritten };

export async function headEvent(store: RegistryStore): Promise<AuditEvent | null> {
  return (await store.listAuditEvents(ALL, { first: 1, after: null })).items[0]?.node ?? null;
}

export async function newestRecord(store: RegistryStore): Promise<AuditEvent | null> {
  return (await store.listAuditEvents(RECORDS, { first: 1, after: null })).items[0]?.node ?? null;
}

/** The newest checkpoint record with a sequence below `sequence`, or null. */
export async function recordBefore(store: RegistryStore, sequence: number): Promise<AuditEvent | null> {
  let after: string | null = null;
  do {
    const page = await store.listAuditEvents(RECORDS, { first: 50, after });
    const hit = page.items.find((i) => i.node.sequence < sequence);
    if (hit) return hit.node;
    after = page.hasNextPage ? (page.items.at(-1)?.cursor ?? null) : null;
  } while (after !== null);
  return null;
}

/** Every checkpoint record, newest first. */
export async function allRecords(store: RegistryStore): Promise<AuditEvent[]> {
  const out: AuditEvent[] = [];
  let after: string | null = null;
  do {
    const page = await store.listAuditEvents(RECORDS, { first: 500, after });
    out.push(...page.items.map((i) => i.node));
    after = page.hasNextPage ? (page.items.at(-1)?.cursor ?? null) : null;
  } while (after !== null);
  return out;
}
