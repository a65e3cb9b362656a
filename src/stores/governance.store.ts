import type { AuditDraft, Deployment, Page, PageRequest } from '../domain/model.js';
import type { DeploymentObservation, EnvironmentPolicy, ObservedState, PromotionRequest, PromotionStatus } from '../domain/governance.js';

/**
 * The governance part of the metadata port (RegistryStore extends it): what served when,
 * what workers observe, environment policies and promotion requests. Same conventions as
 * RegistryStore: a miss is null; every write that takes an AuditDraft appends it in the same unit
 * of work as its effect (MongoDB: a marker on the written document, finished by recovery).
 */
export interface GovernanceStore {
  /**
   * The SUCCEEDED deployment of (model, environment) that was live at `at`: the one with the
   * latest `deployedAt` not after `at` (ties: the higher revision). Null if none had happened yet.
   * Served from an index: O(log n) of the history, never a scan.
   */
  deploymentLiveAt(modelName: string, environment: string, at: Date): Promise<Deployment | null>;

  /**
   * Stores what `instance` reports about a deployment: one record per (deployment, instance), the
   * latest report wins (an older report arriving late changes nothing: false). `audit` is given
   * the instance's previous record and may return an event to append with the change.
   */
  recordObservation(o: DeploymentObservation, audit: (previous: DeploymentObservation | null) => AuditDraft | null): Promise<boolean>;
  /** The latest record of each instance of the deployment, newest report first, at most `limit`. */
  listObservations(deploymentId: string, limit: number): Promise<DeploymentObservation[]>;
  /** How many instances' latest record is `state`. From an index. */
  countObservations(deploymentId: string, state: ObservedState): Promise<number>;

  /** Creates or replaces the policy of (modelName or '*', environment) with its audit event. */
  setEnvironmentPolicy(policy: EnvironmentPolicy, audit: AuditDraft): Promise<EnvironmentPolicy>;
  /** The policy stored for exactly (modelName, environment); the caller falls back to '*'. */
  getEnvironmentPolicy(modelName: string, environment: string): Promise<EnvironmentPolicy | null>;

  /** Stores a new request (revision 1) with its audit event. ConflictError if the id exists. */
  createPromotionRequest(request: PromotionRequest, audit: AuditDraft): Promise<PromotionRequest>;
  getPromotionRequest(id: string): Promise<PromotionRequest | null>;
  /**
   * Compare-and-set: replaces the request by `next` (whose revision must be expectedRevision + 1)
   * only if its stored revision is `expectedRevision`, with the audit event. Null if it changed
   * meanwhile (or does not exist): nothing written.
   */
  updatePromotionRequest(next: PromotionRequest, expectedRevision: number, audit: AuditDraft): Promise<PromotionRequest | null>;
  /**
   * The model's requests, newest first. `status` as stored; PENDING and EXPIRED are told apart by
   * `now` (a PENDING request past its expiry is EXPIRED), so both use the same index.
   */
  listPromotionRequests(filter: { modelName: string; status: PromotionStatus | null; now: Date }, page: PageRequest): Promise<Page<PromotionRequest>>;
}
