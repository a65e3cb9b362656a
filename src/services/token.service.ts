import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { ConflictError, InvalidArgumentError, NotFoundError, UnauthenticatedError } from '../domain/errors.js';
import { tokenAnchorProblem, tokenFingerprint } from '../audit/anchors.js';
import {
  type ApiToken, MODEL_SCOPE_PATTERN, type NewApiToken, type Principal, ROLES, type Role, actorName, tokenActive,
} from '../domain/token.js';
import type { Page } from '../domain/model.js';
import { checkEnvironment, checkPageSize, checkText } from '../domain/validation.js';
import { decodeListCursor, pageOf } from './paging/list-cursors.js';
import type { AccessService } from './access.service.js';
import { AuditAction, type ServiceDeps, auditDraft } from './service-deps.js';

/** Secrets look like `mr_<43 base64url chars>`: 256 random bits. */
const SECRET_PREFIX = 'mr_';
const TOUCH_INTERVAL_MS = 60_000;
/** How long a token row found anchored is trusted before its last audit event is read again. */
const ANCHOR_RECHECK_MS = 10_000;
/** The fixed id of the token made at first start: its unique id makes the bootstrap happen once, ever. */
export const BOOTSTRAP_TOKEN_ID = 'bootstrap-admin';
/** The principal of REGISTRY_ADMIN_TOKEN: checked against configuration, never stored. */
const ENV_ADMIN = { id: 'REGISTRY_ADMIN_TOKEN', name: 'env-admin' };

export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

export interface CreatedToken {
  token: ApiToken;
  /** Shown once; only its hash is stored. */
  secret: string;
}

/** API tokens: authentication, creation, revocation and the first-start bootstrap. */
export class TokenService {
  private readonly lastTouch = new Map<string, number>();
  private readonly envAdminHash: Buffer | null;

  constructor(
    private readonly deps: ServiceDeps,
    private readonly access: AccessService,
  ) {
    this.envAdminHash = deps.settings.adminToken ? Buffer.from(hashSecret(deps.settings.adminToken), 'hex') : null;
  }

  /** The principal behind a bearer secret; UNAUTHENTICATED when missing, unknown, expired or revoked. */
  async authenticate(secret: string | null): Promise<Principal> {
    if (!secret) throw new UnauthenticatedError('Send an API token: Authorization: Bearer <token>');
    if (secret.length > 512) throw new UnauthenticatedError('Unknown, expired or revoked API token');
    const hash = hashSecret(secret);
    if (this.envAdminHash && timingSafeEqual(this.envAdminHash, Buffer.from(hash, 'hex'))) {
      return { name: actorName(ENV_ADMIN), tokenId: ENV_ADMIN.id, role: 'admin', modelScope: null, environments: null };
    }
    const token = await this.deps.store.findApiTokenByHash(hash);
    const now = this.deps.now();
    if (!token || !tokenActive(token, now)) throw new UnauthenticatedError('Unknown, expired or revoked API token');
    await this.requireAnchored(token);
    const last = this.lastTouch.get(token.id) ?? 0;
    if (now.getTime() - last >= TOUCH_INTERVAL_MS) {
      this.lastTouch.set(token.id, now.getTime());
      await this.deps.store.touchApiToken(token.id, now);
    }
    return { name: actorName(token), tokenId: token.id, role: token.role, modelScope: token.modelScope, environments: token.environments };
  }

  /** Token rows (every field the check reads) found anchored in the chain by this process, and when. */
  private readonly anchored = new Map<string, number>();

  /**
   * A token row must be what its last audit event made it: a row inserted or edited in the
   * database (a new admin, a wider scope, another secret, a revocation undone) is refused and
   * logged as an error. A row found anchored is trusted as it is for ANCHOR_RECHECK_MS; any
   * change to it, or that time passing, checks it again (one indexed read).
   */
  private async requireAnchored(token: ApiToken): Promise<void> {
    const key = JSON.stringify([token.id, token.role, token.modelScope, token.environments, token.expiresAt, token.secretHash, token.audit]);
    const now = Date.now();
    if (now - (this.anchored.get(key) ?? -Infinity) < ANCHOR_RECHECK_MS) return;
    const last = await this.deps.store.lastTokenChange(token.id);
    const problem =
      last !== null && token.audit !== null && last.sequence !== token.audit.sequence
        ? `API token ${token.id} names audit event ${token.audit.sequence}, but its last change is event ${last.sequence}`
        : tokenAnchorProblem(token, last);
    if (problem !== null) {
      this.deps.onIntegrityProblem?.(problem);
      throw new UnauthenticatedError('Unknown, expired or revoked API token');
    }
    if (this.anchored.size >= 10_000) this.anchored.clear();
    this.anchored.set(key, now);
  }

  async create(
    input: { name: string; role: Role; modelScope: string | null; expiresAt: Date | null; environments?: readonly string[] | null },
    principal: Principal,
  ): Promise<CreatedToken> {
    await this.access.require(principal, 'admin', null, 'create API tokens');
    const name = checkText('name', input.name, 100);
    if (!ROLES.includes(input.role)) throw new InvalidArgumentError('role', `must be one of ${ROLES.join(', ')}`);
    if (input.modelScope !== null && !MODEL_SCOPE_PATTERN.test(input.modelScope)) {
      throw new InvalidArgumentError('modelScope', `must be a model name or a prefix ending in "*" (${MODEL_SCOPE_PATTERN.source})`);
    }
    const environments = checkEnvironments(input.environments ?? null);
    const now = this.deps.now();
    if (input.expiresAt !== null && input.expiresAt.getTime() <= now.getTime()) throw new InvalidArgumentError('expiresAt', 'must be in the future');
    return this.mint(randomUUID(), { ...input, name, environments }, principal.name);
  }

  async revoke(id: string, principal: Principal): Promise<ApiToken> {
    await this.access.require(principal, 'admin', null, 'revoke API tokens');
    checkText('id', id, 100);
    const token = await this.deps.store.revokeApiToken(
      id,
      this.deps.now(),
      auditDraft(this.deps, principal, AuditAction.tokenRevoked, { modelName: null, versionId: null }, { tokenId: id }),
    );
    if (!token) throw new NotFoundError(`API token ${id} does not exist`);
    return token;
  }

  async list(principal: Principal): Promise<ApiToken[]> {
    this.access.check(principal, 'admin', 'list API tokens');
    return this.deps.store.listApiTokens();
  }

  /**
   * A page of the tokens, newest first (the store's order: createdAt, then id, descending). The
   * cursor is the last token's (createdAt, id): a page never repeats or skips a token, also when
   * tokens are created between pages. A registry has few tokens, so the store hands over all.
   */
  async page(principal: Principal, page: { first: number; after: string | null }): Promise<Page<ApiToken>> {
    const first = checkPageSize('first', page.first);
    const after = decodeListCursor('apiTokens', page.after, ['number', 'string']) as [number, string] | null;
    const tokens = await this.list(principal);
    const rest = after === null ? tokens : tokens.filter((t) => t.createdAt.getTime() < after[0] || (t.createdAt.getTime() === after[0] && t.id < after[1]));
    return pageOf('apiTokens', rest, first, tokens.length, (t) => [t.createdAt.getTime(), t.id]);
  }

  /**
   * First start without REGISTRY_ADMIN_TOKEN and without an active admin token: creates one admin
   * token and returns its secret for the console. Happens at most once in the registry's life
   * (the token's fixed id is unique), also with several processes starting together.
   */
  async bootstrap(): Promise<CreatedToken | null> {
    if (this.envAdminHash) return null;
    const now = this.deps.now();
    const tokens = await this.deps.store.listApiTokens();
    if (tokens.some((t) => t.id === BOOTSTRAP_TOKEN_ID || (t.role === 'admin' && tokenActive(t, now)))) return null;
    try {
      return await this.mint(BOOTSTRAP_TOKEN_ID, { name: 'bootstrap-admin', role: 'admin', modelScope: null, environments: null, expiresAt: null }, 'registry');
    } catch (err) {
      if (err instanceof ConflictError) return null;
      throw err;
    }
  }

  private async mint(
    id: string, input: { name: string; role: Role; modelScope: string | null; environments: string[] | null; expiresAt: Date | null }, createdBy: string,
  ): Promise<CreatedToken> {
    const secret = `${SECRET_PREFIX}${randomBytes(32).toString('base64url')}`;
    const token: NewApiToken = {
      id,
      name: input.name,
      role: input.role,
      modelScope: input.modelScope,
      environments: input.environments,
      expiresAt: input.expiresAt,
      createdAt: this.deps.now(),
      createdBy,
      lastUsedAt: null,
      revokedAt: null,
      secretHash: hashSecret(secret),
    };
    const audit = auditDraft(this.deps, { name: createdBy }, AuditAction.tokenCreated, { modelName: null, versionId: null }, {
      tokenId: id,
      name: token.name,
      role: token.role,
      modelScope: token.modelScope,
      // Only when limited, so the events of unlimited tokens read as before.
      ...(token.environments === null ? {} : { environments: token.environments }),
      expiresAt: token.expiresAt ? token.expiresAt.toISOString() : null,
      secretFingerprint: tokenFingerprint(token.secretHash),
    });
    return { token: await this.deps.store.createApiToken(token, audit), secret };
  }
}

/** A token's environments: null (every one), or 1..20 distinct valid names, sorted. */
function checkEnvironments(environments: readonly string[] | null): string[] | null {
  if (environments === null) return null;
  if (environments.length === 0) throw new InvalidArgumentError('environments', 'give at least one environment, or null for every environment');
  if (environments.length > 20) throw new InvalidArgumentError('environments', 'at most 20 environments');
  const names = environments.map((e, i) => checkEnvironment(`environments[${i}]`, e));
  return [...new Set(names)].sort();
}
