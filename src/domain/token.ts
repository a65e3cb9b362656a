/** API tokens and roles: pure rules, no I/O. */

export const ROLES = ['viewer', 'publisher', 'deployer', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export interface ApiToken {
  id: string;
  name: string;
  role: Role;
  /** null: every model; `iris`: that model; `fraud-*`: names starting with `fraud-`. */
  modelScope: string | null;
  expiresAt: Date | null;
  createdAt: Date;
  createdBy: string;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
  /** SHA-256 (hex) of the secret; the secret itself is never stored. */
  secretHash: string;
}
