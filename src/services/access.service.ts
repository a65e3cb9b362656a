import { ForbiddenError, NotFoundError } from '../domain/errors.js';
import { MODEL_NAME_PATTERN } from '../domain/limits.js';
import { type Permission, type Principal, requiredRole, roleAllows, scopeAllows } from '../domain/token.js';
import { AuditAction, type ServiceDeps, auditDraft } from './service-deps.js';

/**
 * The one place that decides who may do what. A refused mutation by a known token is recorded as
 * an ACCESS_DENIED audit event; a model outside a token's scope is, for reads, as if it did not exist.
 */
export class AccessService {
  constructor(private readonly deps: ServiceDeps) {}

  /** For mutations: throws ForbiddenError, after recording ACCESS_DENIED, unless allowed. */
  async require(principal: Principal, permission: Permission, modelName: string | null, operation: string): Promise<void> {
    const roleOk = roleAllows(principal.role, permission);
    const scopeOk = modelName === null ? principal.modelScope === null || permission !== 'admin' : scopeAllows(principal.modelScope, modelName);
    if (roleOk && scopeOk) return;
    const reason = !roleOk
      ? `role ${principal.role} may not ${operation}; it needs ${requiredRole(permission)}`
      : modelName === null
        ? `a token scoped to "${principal.modelScope}" may not ${operation}`
        : `model "${modelName}" is outside this token's scope "${principal.modelScope}"`;
    const model = modelName !== null && MODEL_NAME_PATTERN.test(modelName) ? modelName : null;
    await this.deps.store.appendAudit(
      auditDraft(this.deps, principal, AuditAction.accessDenied, { modelName: model, versionId: null }, { operation, permission, reason }),
    );
    throw new ForbiddenError(`Forbidden: ${reason}`);
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
