/** API tokens, roles and scopes: pure rules, no I/O. */
import type { AuditRef } from './model.js';

/** The first four form a ladder (each includes the ones before it); `worker` stands beside it: it reads and reports deployment status. */
export const ROLES = ['viewer', 'publisher', 'deployer', 'admin', 'worker'] as const;
const LADDER: readonly Role[] = ['viewer', 'publisher', 'deployer', 'admin'];
export type Role = (typeof ROLES)[number];

export interface ApiToken {
  id: string;
  name: string;
  role: Role;
  /** null: every model; `iris`: that model; `fraud-*`: names starting with `fraud-`. */
  modelScope: string | null;
  /** null: every environment; otherwise the only environments it may promote to, roll back or undeploy in. */
  environments: string[] | null;
  expiresAt: Date | null;
  createdAt: Date;
  createdBy: string;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
  /** SHA-256 (hex) of the secret; the secret itself is never stored. */
  secretHash: string;
  /** The audit event that created the token or last changed it (revocation); checked on use. */
  audit: AuditRef | null;
}

/** A token as a service hands it to the store: the store anchors it in the chain. */
export type NewApiToken = Omit<ApiToken, 'audit'>;

/** What each operation needs. Each role includes the ones before it. */
export type Permission = 'read' | 'publish' | 'deploy' | 'admin' | 'report';
/** `report` (what inference workers observe): the worker role, or deployer and above. */
const REQUIRED_ROLE: Record<Permission, Role> = { read: 'viewer', publish: 'publisher', deploy: 'deployer', admin: 'admin', report: 'deployer' };

export function roleAllows(role: Role, permission: Permission): boolean {
  if (role === 'worker') return permission === 'read' || permission === 'report';
  return LADDER.indexOf(role) >= LADDER.indexOf(REQUIRED_ROLE[permission]);
}

export function requiredRole(permission: Permission): Role {
  return REQUIRED_ROLE[permission];
}

/** A model name, or a prefix of one followed by `*`. */
export const MODEL_SCOPE_PATTERN = /^[a-z0-9][a-z0-9_-]{0,99}\*?$/;

export function scopeAllows(scope: string | null, modelName: string): boolean {
  if (scope === null) return true;
  return scope.endsWith('*') ? modelName.startsWith(scope.slice(0, -1)) : modelName === scope;
}

/** The prefix every visible model name starts with, for list queries; null: no restriction. */
export function scopePrefix(scope: string | null): string | null {
  if (scope === null) return null;
  return scope.endsWith('*') ? scope.slice(0, -1) : scope;
}

export function tokenActive(t: Pick<ApiToken, 'revokedAt' | 'expiresAt'>, now: Date): boolean {
  return t.revokedAt === null && (t.expiresAt === null || t.expiresAt.getTime() > now.getTime());
}

/** The authenticated caller. Its `name` is what audit events and createdBy/deployedBy show. */
export interface Principal {
  readonly name: string;
  readonly tokenId: string;
  readonly role: Role;
  readonly modelScope: string | null;
  /** The token's environments (deployment changes only there); null or absent: every environment. */
  readonly environments?: readonly string[] | null;
}

/** Whether a token limited to `environments` (null: all) may change deployments in `environment`. */
export function environmentAllows(environments: readonly string[] | null | undefined, environment: string): boolean {
  return environments == null || environments.includes(environment);
}

/** How a token appears as an actor: its name and id, never its secret. */
export function actorName(t: { name: string; id: string }): string {
  return `${t.name} (${t.id})`;
}

/**
 * For stores: the model names a scope allows, as an exact name or the half-open range
 * [from, to) of a prefix. Model names use only [a-z0-9_-], all below '~', so prefix + '~' bounds them.
 */
export function scopeRange(scope: string): { exact: string } | { from: string; to: string } {
  return scope.endsWith('*') ? { from: scope.slice(0, -1), to: `${scope.slice(0, -1)}~` } : { exact: scope };
}
