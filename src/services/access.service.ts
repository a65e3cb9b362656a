import { ForbiddenError, NotFoundError } from '../domain/errors.js';
import { MODEL_NAME_PATTERN } from '../domain/limits.js';
import { type Permission, type Principal, environmentAllows, requiredRole, roleAllows, scopeAllows } from '../domain/token.js';
import { DeniedAuditLimiter } from './denied-audit-limiter.js';
import { AuditAction, type ServiceDeps, auditDraft } from './service-deps.js';

/**
 * The one place that decides who may do what. A refused mutation by a known token is recorded as
 * an ACCESS_DENIED audit event; a model outside a token's scope is, for reads, as if it did not exist.
 */
export class AccessService {
  private readonly denials: DeniedAuditLimiter;

  constructor(private readonly deps: ServiceDeps) {
    const { limit, windowSeconds } = deps.settings.accessDeniedAudit;
    this.denials = new DeniedAuditLimiter(limit, windowSeconds * 1000, deps.now, (w) =>
      this.deps.store.appendAudit(
        auditDraft(this.deps, { name: w.actor }, AuditAction.accessDeniedSummary, { modelName: null, versionId: null }, {
          tokenId: w.tokenId,
          refusalsNotRecordedOneByOne: w.suppressed,
          since: w.since.toISOString(),
          until: w.until.toISOString(),
        }),
      ).then(() => undefined),
    );
  }

  /** For mutations: throws ForbiddenError, after recording ACCESS_DENIED, unless allowed. */
  async require(principal: Principal, permission: Permission, modelName: string | null, operation: string): Promise<void> {
    const reason = this.refusal(principal, permission, modelName, operation);
    if (reason === null) return;
    await this.recordDenied(principal, permission, modelName, operation, reason);
    throw new ForbiddenError(`Forbidden: ${reason}`);
  }

  /**
   * For deployment changes (promote, roll back, undeploy, approve): a token limited to some
   * environments may change only those. ForbiddenError after recording ACCESS_DENIED otherwise.
   */
  async requireEnvironment(principal: Principal, modelName: string, environment: string, operation: string): Promise<void> {
    if (environmentAllows(principal.environments, environment)) return;
    const reason = `this token may ${operation} only in ${(principal.environments ?? []).join(', ')}, not in ${environment}`;
    await this.recordDenied(principal, 'deploy', modelName, operation, reason);
    throw new ForbiddenError(`Forbidden: ${reason}`);
  }

  /** A refusal decided by a rule outside roles and scopes (the two-person rule): ACCESS_DENIED, then FORBIDDEN. */
  async deny(principal: Principal, modelName: string, operation: string, reason: string): Promise<never> {
    await this.recordDenied(principal, 'deploy', modelName, operation, reason);
    throw new ForbiddenError(`Forbidden: ${reason}`);
  }

  private async recordDenied(principal: Principal, permission: Permission, modelName: string | null, operation: string, reason: string): Promise<void> {
    if (!this.denials.admit(principal.tokenId, principal.name)) return;
    const model = modelName !== null && MODEL_NAME_PATTERN.test(modelName) ? modelName : null;
    await this.deps.store.appendAudit(
      auditDraft(this.deps, principal, AuditAction.accessDenied, { modelName: model, versionId: null }, { operation, permission, reason }),
    );
  }

  /**
   * For mutations on something the caller named by id (a version): outside the token's scope it
   * is NOT_FOUND, exactly as for an id that does not exist, so a scoped token cannot learn which
   * model an id belongs to. The refusal is still recorded as ACCESS_DENIED.
   */
  async requireById(principal: Principal, permission: Permission, modelName: string, operation: string, notFoundMessage: string): Promise<void> {
    if (!this.canSee(principal, modelName)) {
      await this.recordDenied(principal, permission, modelName, operation, `model "${modelName}" is outside this token's scope "${principal.modelScope}"`);
      throw new NotFoundError(notFoundMessage);
    }
    await this.require(principal, permission, modelName, operation);
  }

  /** For queries: throws ForbiddenError unless allowed; reads leave no audit event. */
  check(principal: Principal, permission: Permission, operation: string): void {
    const reason = this.refusal(principal, permission, null, operation);
    if (reason !== null) throw new ForbiddenError(`Forbidden: ${reason}`);
  }

  private refusal(principal: Principal, permission: Permission, modelName: string | null, operation: string): string | null {
    if (!roleAllows(principal.role, permission)) return `role ${principal.role} may not ${operation}; it needs ${requiredRole(permission)}`;
    if (modelName === null) {
      // Registry-wide administration (tokens) is for unscoped admins only.
      return permission === 'admin' && principal.modelScope !== null ? `a token scoped to "${principal.modelScope}" may not ${operation}` : null;
    }
    return scopeAllows(principal.modelScope, modelName) ? null : `model "${modelName}" is outside this token's scope "${principal.modelScope}"`;
  }

  /** For registry-wide reads (stats, the whole chain): unscoped tokens only. Not audited. */
  requireUnscoped(principal: Principal, operation: string): void {
    if (principal.modelScope !== null) throw new ForbiddenError(`Forbidden: a token scoped to "${principal.modelScope}" may not read ${operation}`);
  }

  canSee(principal: Principal, modelName: string): boolean {
    return scopeAllows(principal.modelScope, modelName);
  }

  /** For reads naming a model: NOT_FOUND when outside the scope, exactly as for a missing model. */
  requireVisible(principal: Principal, modelName: string): void {
    if (!this.canSee(principal, modelName)) throw new NotFoundError(`Model "${modelName}" does not exist`);
  }
}
