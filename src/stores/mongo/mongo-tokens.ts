import { ConflictError } from '../../domain/errors.js';
import type { AuditDraft } from '../../domain/model.js';
import type { ApiToken, NewApiToken } from '../../domain/token.js';
import { COLLECTIONS, type PendingMarker, type TokenDoc, docToToken, draftToDoc, tokenToDoc } from './mongo-documents.js';
import { listTokensQuery, tokenByHashQuery } from './mongo-queries.js';
import { revokeTokenUpdates, touchTokenUpdate } from './mongo-updates.js';
import { type MongoSteps, isDuplicateKey } from './mongo-steps.js';

/**
 * The API-token side of MongoRegistryStore. Creation and revocation are one write carrying the
 * marker (commit point), then the audit event, the row's anchor to it, and the clear.
 */
export class MongoTokens {
  constructor(private readonly steps: MongoSteps) {}

  async createApiToken(token: NewApiToken, audit: AuditDraft): Promise<ApiToken> {
    const marker: PendingMarker = { id: audit.id, op: 'token', phase: 'committed', audit: draftToDoc(audit) };
    const doc: TokenDoc = { ...tokenToDoc(token), pending: marker, pendingAt: new Date() };
    try {
      await this.steps.insert(COLLECTIONS.tokens, doc);
    } catch (err) {
      if (isDuplicateKey(err)) throw new ConflictError('An API token with this id or secret already exists');
      throw err;
    }
    const event = await this.steps.finish(COLLECTIONS.tokens, doc, { auditAppended: false });
    return { ...token, audit: event && { sequence: event.sequence, hash: event.hash } };
  }

  /** A token met with a committed write pending (a crashed creation or revocation) is finished first, so it names its event. */
  async findApiTokenByHash(secretHash: string): Promise<ApiToken | null> {
    const [doc] = await this.steps.find<TokenDoc>(tokenByHashQuery(secretHash));
    const settled = doc && (await this.steps.settled(COLLECTIONS.tokens, doc, undefined, 'wait'));
    return settled ? docToToken(settled) : null;
  }

  /**
   * Each token as settled: one written between a settle-all and the read would otherwise come
   * back unanchored (its audit step not yet done) and read as forged by verifyAuditLog.
   */
  async listApiTokens(): Promise<ApiToken[]> {
    const tokens: ApiToken[] = [];
    for (const doc of await this.steps.find<TokenDoc>(listTokensQuery())) {
      const settled = await this.steps.settled(COLLECTIONS.tokens, doc, undefined, 'all');
      if (settled) tokens.push(docToToken(settled));
    }
    return tokens;
  }

  async revokeApiToken(id: string, revokedAt: Date, audit: AuditDraft): Promise<ApiToken | null> {
    const marker: PendingMarker = { id: audit.id, op: 'token', phase: 'committed', audit: draftToDoc(audit) };
    const [whileUnset, alreadyRevoked] = revokeTokenUpdates(id, revokedAt, marker);
    const written = await this.steps.markedWrite<TokenDoc>(
      COLLECTIONS.tokens,
      id,
      async () => (await this.steps.findAndUpdate<TokenDoc>(whileUnset)) ?? (await this.steps.findAndUpdate<TokenDoc>(alreadyRevoked)),
      `API token ${id}`,
    );
    if (!written) return null;
    const { event } = written;
    return docToToken({ ...written.doc, audit: event && { sequence: event.sequence, hash: event.hash } });
  }

  async touchApiToken(id: string, lastUsedAt: Date): Promise<void> {
    await this.steps.update(touchTokenUpdate(id, lastUsedAt));
  }
}
