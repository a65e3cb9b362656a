import { randomUUID } from 'node:crypto';
import { type CheckpointReport, checkCheckpoints } from '../../audit/checkpoint-check.js';
import { type SignedCheckpoint, checkpointDigest, checkpointName, parseCheckpoint, signCheckpoint } from '../../audit/checkpoint.js';
import { allRecords, headEvent, newestRecord, recordBefore } from './checkpoint-records.js';
import type { ChainVerification } from '../../audit/hash-chain.js';
import type { Actor, AuditEvent } from '../../domain/model.js';
import type { QueryService } from '../query.service.js';
import { type ServiceDeps, AuditAction, auditDraft } from '../service-deps.js';
import type { AuditSigningKey } from './audit-signing-key.js';

export interface CheckpointSettings {
  /** A checkpoint once this many events were appended since the last one… */
  everyEvents: number;
  /** …or once this long passed with at least one new event (0: only by count and at shutdown). */
  everyMs: number;
}

/** The verification of the chain, with what the signed checkpoints say about it. */
export interface AuditVerification extends ChainVerification {
  checkpointsChecked: number;
  newestCheckpointSequence: number | null;
}

/** One process writes checkpoints at a time: this lease, renewed at every look. */
const LEASE = 'audit:checkpoints';
const POLL_MS = 5_000;
/** The writer's lease: three looks. */
const LEASE_MS = POLL_MS * 3;
/** Checkpoint records signed at once when storage lacks them (after crashes or a storage outage). */
const MAX_UNSIGNED = 20;
const ACTOR = { name: 'system:checkpoints' };
const LISTED_PROBLEMS = 5;

/**
 * Signed audit checkpoints (see audit/checkpoint.ts): every `everyEvents` events or `everyMs`, and
 * at shutdown, the process holding the lease signs the chain's head with the Ed25519 key, stores
 * the checkpoint in the artifact store (where no URL reaches it), after recording it in the log
 * (AUDIT_CHECKPOINT_WRITTEN, the event the checkpoint signs). verifyAuditLog checks the chain against every stored checkpoint.
 */
export class CheckpointService {
  private readonly holder = `checkpoints-${randomUUID()}`;
  private newest: SignedCheckpoint | null | undefined;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<unknown> | null = null;
  private stopped = false;
  private readonly startedAt = Date.now();

  constructor(
    private readonly deps: ServiceDeps,
    private readonly queries: QueryService,
    private readonly key: AuditSigningKey,
    private readonly settings: CheckpointSettings,
    private readonly onError: (err: unknown) => void = () => {},
  ) {}

  get publicKeyPem(): string {
    return this.key.publicKeyPem;
  }

  start(): void {
    if (this.stopped) return;
    const tick = () => {
      this.running = this.writeIfDue(false).catch(this.onError).finally(() => {
        this.running = null;
        if (!this.stopped) this.timer = setTimeout(tick, POLL_MS).unref();
      });
    };
    this.timer = setTimeout(tick, POLL_MS).unref();
  }

  /** Stops the timer and writes a last checkpoint when there are new events (and this process may). */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
    await this.writeIfDue(true).catch(this.onError);
    await this.deps.store.releaseLease(LEASE, this.holder).catch(this.onError);
  }

  /**
   * Writes a checkpoint when one is due (`force`: whenever there are new events). The checkpoint
   * covers its own record: the AUDIT_CHECKPOINT_WRITTEN event is appended first, and the signed
   * head is that event, so deleting even the last event of the log is noticed. Each checkpoint
   * links to the checkpoint of the record before it in the log (the log orders them, whichever
   * process wrote them); a record whose checkpoint never reached storage (a crash between the two
   * writes) is signed at the next look.
   */
  async writeIfDue(force: boolean): Promise<SignedCheckpoint | null> {
    if (!(await this.deps.store.acquireLease(LEASE, this.holder, LEASE_MS))) return null;
    const head = await headEvent(this.deps.store);
    if (head === null) return null;
    const record = await newestRecord(this.deps.store);
    if (record !== null && record.sequence !== this.newest?.checkpoint.sequence) this.newest = await this.ensureSigned(record, 0);
    const fresh = head.sequence - (this.newest?.checkpoint.sequence ?? 0);
    // Time since the last checkpoint, or, before the first one, since this process started.
    const age = this.deps.now().getTime() - (this.newest ? Date.parse(this.newest.checkpoint.createdAt) : this.startedAt);
    const due = fresh > 0 && (force || fresh >= this.settings.everyEvents || (this.settings.everyMs > 0 && age >= this.settings.everyMs));
    if (!due) return null;
    // Renewed right before writing: a process that stalled past its lease does not write.
    if (!(await this.deps.store.acquireLease(LEASE, this.holder, LEASE_MS))) return null;
    const appended = await this.deps.store.appendAudit(auditDraft(this.deps, ACTOR, AuditAction.checkpointWritten, { modelName: null, versionId: null }, {
      coversEventsUpTo: head.sequence,
    }));
    this.newest = await this.ensureSigned(appended, 0);
    return this.newest;
  }

  /**
   * The stored checkpoint of `record`; when storage lacks it, signs it (linked to the checkpoint of
   * the record before it, signed first when missing too) and stores it. Two processes signing the
   * same record: the second finds the first's and keeps it.
   */
  private async ensureSigned(record: AuditEvent, depth: number): Promise<SignedCheckpoint> {
    const name = checkpointName(record.sequence);
    const existing = await this.readStored(name);
    if (existing !== null) return existing;
    if (depth > MAX_UNSIGNED) throw new Error(`more than ${MAX_UNSIGNED} checkpoint records in a row lack their checkpoint; is the artifact store writable?`);
    const before = await recordBefore(this.deps.store, record.sequence);
    const previous = before === null ? null : await this.ensureSigned(before, depth + 1);
    const signed = signCheckpoint({
      sequence: record.sequence, headHash: record.hash, eventCount: record.sequence, createdAt: this.deps.now().toISOString(),
      previousCheckpoint: previous ? checkpointDigest(previous) : null,
    }, this.key.privateKey);
    try {
      await this.deps.artifacts.writeAuditCheckpoint(name, Buffer.from(JSON.stringify(signed)));
    } catch (err) {
      const raced = await this.readStored(name);
      if (raced?.checkpoint.sequence === record.sequence && raced.checkpoint.headHash === record.hash) return raced;
      throw err;
    }
    return signed;
  }

  private async readStored(name: string): Promise<SignedCheckpoint | null> {
    const body = await this.deps.artifacts.readAuditCheckpoint(name);
    return body === null ? null : parseCheckpoint(body);
  }

  /** verifyAuditLog: the chain and rows (QueryService), then the chain against every signed checkpoint. */
  async verifyAuditLog(principal: Actor): Promise<AuditVerification> {
    const chain = await this.queries.verifyAuditLog(principal);
    const report = await this.report();
    const result = { ...chain, checkpointsChecked: report.checkpointsChecked, newestCheckpointSequence: report.newest?.checkpoint.sequence ?? null };
    if (report.problems.length === 0) return result;
    const listed = report.problems.slice(0, LISTED_PROBLEMS).map((p) => `${p.kind}: ${p.message}`).join('; ');
    const more = report.problems.length > LISTED_PROBLEMS ? `; and ${report.problems.length - LISTED_PROBLEMS} more` : '';
    const first = report.problems[0]!.sequence;
    return {
      ...result,
      valid: false,
      firstInvalidSequence: chain.valid ? first : Math.min(first, chain.firstInvalidSequence ?? first),
      message: [chain.valid ? null : chain.message, `the signed checkpoints disagree with the log: ${listed}${more}`].filter(Boolean).join('; '),
    };
  }

  private async report(): Promise<CheckpointReport> {
    // The log first, then storage: a checkpoint being written now has its record, and its object
    // soon; such a record, younger than the writer's lease, is not yet reported as missing.
    const records = await allRecords(this.deps.store);
    const stored: { name: string; body: Buffer }[] = [];
    for (const name of await this.deps.artifacts.auditCheckpointNames()) {
      const body = await this.deps.artifacts.readAuditCheckpoint(name);
      if (body !== null) stored.push({ name, body });
    }
    // Only records after the newest stored checkpoint can be in flight.
    const youngSince = this.deps.now().getTime() - LEASE_MS;
    const newestStored = Math.max(0, ...stored.map((s) => Number.parseInt(s.name, 10)).filter(Number.isSafeInteger));
    const recorded = records.filter((r) => r.sequence <= newestStored || r.occurredAt.getTime() < youngSince).map((r) => r.sequence);
    const head = (await headEvent(this.deps.store))?.sequence ?? 0;
    const hashAt = async (sequence: number) => {
      const [e] = await this.deps.store.auditEventsAfter(sequence - 1, 1);
      return e?.sequence === sequence ? e.hash : null;
    };
    return checkCheckpoints(stored, recorded, this.key.publicKey, hashAt, head);
  }
}
