import { createHash } from 'node:crypto';
import { AuditAction, POINTER_MOVE_ACTIONS, TOKEN_CHANGE_ACTIONS } from '../domain/audit-actions.js';
import type { AuditDraft, AuditEvent, AuditRef, DeploymentPointer, JsonValue } from '../domain/model.js';
import type { ApiToken } from '../domain/token.js';
import { computeHash } from './hash-chain.js';

/**
 * Rows that grant or route (API tokens, deployment pointers) are anchored in the audit chain:
 * each names the event that last changed it, and that event must say what the row says. A row
 * inserted or edited in the database without going through the registry has no such event.
 */

/** What a token's creation event records of it, beside id, role, scope and expiry: never the secret or its lookup hash. */
export function tokenFingerprint(secretHash: string): string {
  return createHash('sha256').update(`model-registry token fingerprint\n${secretHash}`).digest('hex');
}

const text = (v: JsonValue | undefined): string | null => (typeof v === 'string' ? v : null);

/** Why `event` does not anchor `token` as it is now, or null when it does. */
export function tokenAnchorProblem(token: ApiToken, event: AuditEvent | null): string | null {
  const where = `API token ${token.id}`;
  if (token.audit === null) return `${where} names no audit event`;
  if (event === null) return `${where} names audit event ${token.audit.sequence}, which does not exist`;
  if (!refMatches(token.audit, event)) return `${where} names audit event ${token.audit.sequence}, whose hash differs`;
  if (text(event.details.tokenId) !== token.id) return `${where}: audit event ${event.sequence} is about another token`;
  const revoked = event.action === AuditAction.tokenRevoked;
  if (revoked !== (token.revokedAt !== null)) return `${where} is ${token.revokedAt === null ? 'active' : 'revoked'}, but its audit event ${event.sequence} is ${event.action}`;
  if (revoked) return null;
  if (event.action !== AuditAction.tokenCreated && event.action !== AuditAction.tokenAnchored) return `${where}: audit event ${event.sequence} is ${event.action}`;
  const d = event.details;
  const expires = token.expiresAt ? token.expiresAt.toISOString() : null;
  if (d.role !== token.role || (d.modelScope ?? null) !== token.modelScope || (d.expiresAt ?? null) !== expires) {
    return `${where}: role, scope or expiry differ from its audit event ${event.sequence}`;
  }
  if (JSON.stringify(d.environments ?? null) !== JSON.stringify(token.environments ?? null)) {
    return `${where}: its environments differ from its audit event ${event.sequence}`;
  }
  if (d.secretFingerprint !== tokenFingerprint(token.secretHash)) return `${where}: its secret is not the one its audit event ${event.sequence} recorded`;
  return null;
}

/**
 * Tokens created before fingerprints were recorded are bound to their secret once, at the
 * upgrade, by this event. Deterministic (id and time from the token), so two processes upgrading
 * one database at once append the same event, not two.
 */
export function legacyTokenAnchorDraft(token: Pick<ApiToken, 'id' | 'name' | 'role' | 'modelScope' | 'expiresAt' | 'createdAt' | 'secretHash'>): AuditDraft {
  return {
    id: `token-anchored-${token.id}`,
    occurredAt: token.createdAt,
    actor: 'registry (upgrade)',
    action: AuditAction.tokenAnchored,
    modelName: null,
    versionId: null,
    details: {
      tokenId: token.id,
      name: token.name,
      role: token.role,
      modelScope: token.modelScope,
      expiresAt: token.expiresAt ? token.expiresAt.toISOString() : null,
      secretFingerprint: tokenFingerprint(token.secretHash),
      why: 'records the secret fingerprint of a token created before fingerprints were recorded',
    },
  };
}

/** A token whose last change binds no secret (created before fingerprints): it needs legacyTokenAnchorDraft. */
export function needsLegacyAnchor(lastChange: AuditEvent | null, revoked: boolean): boolean {
  return !revoked && lastChange !== null && lastChange.action === AuditAction.tokenCreated && lastChange.details.secretFingerprint === undefined;
}

/** Why `event` does not anchor `pointer`, or null when it does. */
export function pointerAnchorProblem(pointer: DeploymentPointer, event: AuditEvent | null): string | null {
  const where = `pointer ${pointer.modelName}/${pointer.environment}`;
  if (pointer.audit === null) return `${where} names no audit event`;
  if (event === null) return `${where} names audit event ${pointer.audit.sequence}, which does not exist`;
  if (!refMatches(pointer.audit, event)) return `${where} names audit event ${pointer.audit.sequence}, whose hash differs`;
  if (!POINTER_MOVE_ACTIONS.includes(event.action) || event.modelName !== pointer.modelName || event.details.environment !== pointer.environment) {
    return `${where}: audit event ${event.sequence} is not a move of this pointer`;
  }
  if (event.versionId !== pointer.versionId || text(event.details.deploymentId) !== pointer.deploymentId) {
    return `${where} shows version ${pointer.versionId}, but its audit event ${event.sequence} deployed ${event.versionId}`;
  }
  return null;
}

function refMatches(ref: AuditRef, event: AuditEvent): boolean {
  return event.sequence === ref.sequence && event.hash === ref.hash && computeHash(event) === event.hash;
}

/**
 * Reads the chain forward and remembers, per pointer and token, the last event that changed it,
 * so that the rows can be compared with the chain: a row moved back to an older but genuine
 * event, deleted, or made up without any event is found too. The rows are read after `head` was
 * the chain's head and before the chain is read: events after `head` may or may not be reflected
 * in them (writes that happened meanwhile), so a row may name any of those as well.
 */
export class AnchorTracker {
  private readonly last = new Map<string, AuditEvent>();
  private readonly later = new Map<string, AuditEvent[]>();

  constructor(private readonly head: number) {}

  observe(e: AuditEvent): void {
    const key = changedRow(e);
    if (key === null) return;
    if (e.sequence <= this.head) this.last.set(key, e);
    else this.later.set(key, [...(this.later.get(key) ?? []), e]);
  }

  /** Problems of the rows against the chain read; empty when every row is anchored. */
  check(pointers: readonly DeploymentPointer[], tokens: readonly ApiToken[]): AnchorProblem[] {
    const problems: AnchorProblem[] = [];
    const seen = new Set<string>();
    for (const p of pointers) {
      const key = pointerKey(p.modelName, p.environment);
      seen.add(key);
      problems.push(...this.against(`pointer ${p.modelName}/${p.environment}`, key, p.audit, (e) => pointerAnchorProblem(p, e)));
    }
    for (const [key, e] of this.last) {
      if (key.startsWith('pointer:') && !seen.has(key)) {
        problems.push({ sequence: e.sequence, message: `pointer ${key.slice('pointer:'.length)} was moved by audit event ${e.sequence} but is missing` });
      }
    }
    for (const t of tokens) problems.push(...this.against(`API token ${t.id}`, `token:${t.id}`, t.audit, (e) => tokenAnchorProblem(t, e)));
    return problems;
  }

  /** A row must name the last event that changed it (or one written while it was read), and that event must say what the row says. */
  private against(what: string, key: string, ref: AuditRef | null, problemWith: (e: AuditEvent) => string | null): AnchorProblem[] {
    const last = this.last.get(key);
    const candidates = [...(last ? [last] : []), ...(this.later.get(key) ?? [])];
    if (candidates.length === 0) return [{ sequence: ref?.sequence ?? null, message: `${what} has no audit event that made it` }];
    const named = candidates.find((e) => e.sequence === ref?.sequence);
    if (!named) {
      const lastSeq = candidates[0]!.sequence;
      return [{ sequence: lastSeq, message: `${what} names audit event ${ref?.sequence ?? 'none'}, but its last change is event ${lastSeq}` }];
    }
    const message = problemWith(named);
    return message === null ? [] : [{ sequence: named.sequence, message }];
  }
}

function changedRow(e: AuditEvent): string | null {
  if (POINTER_MOVE_ACTIONS.includes(e.action) && e.modelName !== null && typeof e.details.environment === 'string') {
    return pointerKey(e.modelName, e.details.environment);
  }
  if (TOKEN_CHANGE_ACTIONS.includes(e.action) && typeof e.details.tokenId === 'string') return `token:${e.details.tokenId}`;
  return null;
}

export interface AnchorProblem {
  /** The sequence the problem is about (the row's event, or the chain's last change of the row). */
  sequence: number | null;
  message: string;
}


function pointerKey(modelName: string, environment: string): string {
  return `pointer:${modelName}/${environment}`;
}
