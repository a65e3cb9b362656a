import { randomUUID } from 'node:crypto';
import { type CheckpointReport, checkCheckpoints } from '../../audit/checkpoint-check.js';
import { type SignedCheckpoint, checkpointDigest, checkpointName, parseCheckpoint, signCheckpoint } from '../../audit/checkpoint.js';
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
  private lookedForUnsigned = false;

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
   * head is that event, so deleting even the last event of the log is noticed. A record whose
   * checkpoint never reached storage (a crash between the two writes) is signed at the next look.
   */
  async writeIfDue(force: boolean): Promise<SignedCheckpoint | null> {
    if (!(await this.deps.store.acquireLease(LEASE, this.holder, POLL_MS * 3))) return null;
    const head = await this.head();
    if (head === null) return null;
    this.newest ??= await this.newestStored();
    const fresh = head.sequence - (this.newest?.checkpoint.sequence ?? 0);
    const age = this.newest ? this.deps.now().getTime() - Date.parse(this.newest.checkpoint.createdAt) : Infinity;
    const due = fresh > 0 && (force || fresh >= this.settings.everyEvents || (this.settings.everyMs > 0 && age >= this.settings.everyMs));
    // A record left unsigned by a crash is looked for at the first look, and with every checkpoint.
    if (!due && this.lookedForUnsigned) return null;
    this.lookedForUnsigned = true;
    // Another process may have written one since this one last looked: link to what storage holds.
    let previous = await this.newestStored();
    if (previous !== null && previous.checkpoint.sequence > head.sequence) {
      throw new Error(`the audit log ends at sequence ${head.sequence}, before the signed checkpoint at ${previous.checkpoint.sequence}: not signing over a truncated log`);
    }
    const unsigned = await this.newestRecord();
    if (unsigned !== null && unsigned.sequence > (previous?.checkpoint.sequence ?? 0)) previous = await this.store(unsigned, previous);
    if (!due) return null;
    const record = await this.deps.store.appendAudit(auditDraft(this.deps, ACTOR, AuditAction.checkpointWritten, { modelName: null, versionId: null }, {
      coversEventsUpTo: head.sequence, previousCheckpointSequence: previous?.checkpoint.sequence ?? null,
    }));
    return this.store(record, previous);
  }

  /** Signs the chain's head at `record` (linked to `previous`) and stores it outside the database. */
  private async store(record: AuditEvent, previous: SignedCheckpoint | null): Promise<SignedCheckpoint> {
    const signed = signCheckpoint({
      sequence: record.sequence, headHash: record.hash, eventCount: record.sequence, createdAt: this.deps.now().toISOString(),
      previousCheckpoint: previous ? checkpointDigest(previous) : null,
    }, this.key.privateKey);
    await this.deps.artifacts.writeAuditCheckpoint(checkpointName(record.sequence), Buffer.from(JSON.stringify(signed)));
    this.newest = signed;
    return signed;
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
    const stored: { name: string; body: Buffer }[] = [];
    for (const name of await this.deps.artifacts.auditCheckpointNames()) {
      const body = await this.deps.artifacts.readAuditCheckpoint(name);
      if (body !== null) stored.push({ name, body });
    }
    const recorded: number[] = [];
    let after: string | null = null;
    do {
      const page = await this.deps.store.listAuditEvents({ modelName: null, actor: null, action: AuditAction.checkpointWritten, since: null, until: null }, { first: 500, after });
      for (const { node } of page.items) recorded.push(node.sequence);
      after = page.hasNextPage ? (page.items.at(-1)?.cursor ?? null) : null;
    } while (after !== null);
    const head = (await this.head())?.sequence ?? 0;
    const hashAt = async (sequence: number) => {
      const [e] = await this.deps.store.auditEventsAfter(sequence - 1, 1);
      return e?.sequence === sequence ? e.hash : null;
    };
    return checkCheckpoints(stored, recorded, this.key.publicKey, hashAt, head);
  }

  private async head(): Promise<AuditEvent | null> {
    const page = await this.deps.store.listAuditEvents({ modelName: null, actor: null, action: null, since: null, until: null }, { first: 1, after: null });
    return page.items[0]?.node ?? null;
  }

  private async newestRecord(): Promise<AuditEvent | null> {
    const page = await this.deps.store.listAuditEvents({ modelName: null, actor: null, action: AuditAction.checkpointWritten, since: null, until: null }, { first: 1, after: null });
    return page.items[0]?.node ?? null;
  }

  private async newestStored(): Promise<SignedCheckpoint | null> {
    const name = (await this.deps.artifacts.auditCheckpointNames()).at(-1);
    const body = name ? await this.deps.artifacts.readAuditCheckpoint(name) : null;
    return body ? parseCheckpoint(body) : null;
  }
}
