import { ConflictError } from '../../domain/errors.js';
import type { DeploymentObservation, EnvironmentPolicy, ObservedState, PromotionRequest, PromotionStatus } from '../../domain/governance.js';
import type { AuditDraft, Deployment, Page, PageRequest } from '../../domain/model.js';
import type { GovernanceStore } from '../governance.store.js';
import { decodeCursor, toPage } from '../paging.js';
import { COLLECTIONS, type DeploymentDoc, type PendingMarker, docToDeployment, draftToDoc } from './mongo-documents.js';
import {
  type ObservationDoc, type PolicyDoc, type RequestDoc, docToObservation, docToPolicy, docToRequest, liveAtQuery, observationCount, observationId,
  observationUpsert, observationsQuery, policyId, policyUpsert, requestToDoc, requestUpdate, requestsQuery,
} from './mongo-governance-specs.js';
import { type MongoSteps, WRITE_ATTEMPTS, backoff, isDuplicateKey } from './mongo-steps.js';

/**
 * The governance side of MongoRegistryStore. Policies and promotion requests are written as the
 * other audited single documents are: one write carrying the marker (commit point), then the audit
 * event and the clear, finished by recovery after a crash. Observations are a cache of each
 * instance's latest report: the audit event (when there is one) is appended first, by its id, then
 * the record is upserted; a crash between them leaves an event whose report the worker repeats.
 */
export class MongoGovernance implements GovernanceStore {
  constructor(private readonly steps: MongoSteps) {}

  private marker(audit: AuditDraft): PendingMarker {
    return { id: audit.id, op: 'governance', phase: 'committed', audit: draftToDoc(audit) };
  }

  async deploymentLiveAt(modelName: string, environment: string, at: Date): Promise<Deployment | null> {
    // A committed move whose deployment is not stored yet is finished first (as listDeployments does).
    await this.steps.settle(COLLECTIONS.pointers, { modelName }, undefined, 'wait');
    const [doc] = await this.steps.find<DeploymentDoc>(liveAtQuery(modelName, environment, at));
    return doc ? docToDeployment(doc) : null;
  }

  async recordObservation(o: DeploymentObservation, audit: (previous: DeploymentObservation | null) => AuditDraft | null): Promise<boolean> {
    const prev = await this.steps.findById<ObservationDoc>(COLLECTIONS.deploymentObservations, observationId(o.deploymentId, o.instance));
    if (prev && prev.reportedAt.getTime() > o.reportedAt.getTime()) return false;
    const event = audit(prev ? docToObservation(prev) : null);
    if (event) await this.steps.appendAudit(event);
    try {
      await this.steps.update(observationUpsert(o));
      return true;
    } catch (err) {
      if (isDuplicateKey(err)) return false; // a later report was stored meanwhile
      throw err;
    }
  }

  async listObservations(deploymentId: string, limit: number): Promise<DeploymentObservation[]> {
    return (await this.steps.find<ObservationDoc>(observationsQuery(deploymentId, limit))).map(docToObservation);
  }

  countObservations(deploymentId: string, state: ObservedState): Promise<number> {
    return this.steps.count(observationCount(deploymentId, state));
  }

  async setEnvironmentPolicy(policy: EnvironmentPolicy, audit: AuditDraft): Promise<EnvironmentPolicy> {
    const id = policyId(policy.modelName, policy.environment);
    const written = await this.steps.markedWrite<PolicyDoc>(COLLECTIONS.environmentPolicies, id, async () => {
      try {
        return await this.steps.findAndUpdate<PolicyDoc>(policyUpsert(policy, this.marker(audit)));
      } catch (err) {
        if (isDuplicateKey(err)) return null; // it exists with an unfinished change: markedWrite finishes that, then retries
        throw err;
      }
    }, `The policy of ${policy.modelName} in ${policy.environment}`, async () => true);
    if (!written) throw new ConflictError(`The policy of ${policy.modelName} in ${policy.environment} is being changed; try again`);
    return docToPolicy(written.doc);
  }

  async getEnvironmentPolicy(modelName: string, environment: string): Promise<EnvironmentPolicy | null> {
    const doc = await this.steps.findById<PolicyDoc>(COLLECTIONS.environmentPolicies, policyId(modelName, environment));
    const settled = doc && (await this.steps.settled(COLLECTIONS.environmentPolicies, doc, undefined, 'wait'));
    return settled ? docToPolicy(settled) : null;
  }

  async createPromotionRequest(r: PromotionRequest, audit: AuditDraft): Promise<PromotionRequest> {
    const doc: RequestDoc = { ...requestToDoc(r), pending: this.marker(audit), pendingAt: new Date() };
    try {
      await this.steps.insert(COLLECTIONS.promotionRequests, doc);
    } catch (err) {
      if (isDuplicateKey(err)) throw new ConflictError(`A promotion request with id ${r.id} already exists`);
      throw err;
    }
    await this.steps.finish(COLLECTIONS.promotionRequests, doc, { auditAppended: false });
    return r;
  }

  async getPromotionRequest(id: string): Promise<PromotionRequest | null> {
    const doc = await this.steps.findById<RequestDoc>(COLLECTIONS.promotionRequests, id);
    const settled = doc && (await this.steps.settled(COLLECTIONS.promotionRequests, doc, undefined, 'wait'));
    return settled ? docToRequest(settled) : null;
  }

  async updatePromotionRequest(next: PromotionRequest, expectedRevision: number, audit: AuditDraft): Promise<PromotionRequest | null> {
    const spec = requestUpdate(next, expectedRevision, this.marker(audit));
    for (let attempt = 1; attempt <= WRITE_ATTEMPTS; attempt++) {
      const doc = await this.steps.findAndUpdate<RequestDoc>(spec);
      if (doc) {
        await this.steps.finish(COLLECTIONS.promotionRequests, doc, { auditAppended: false });
        return docToRequest(doc);
      }
      const current = await this.steps.findById<RequestDoc>(COLLECTIONS.promotionRequests, next.id);
      if (!current || current.revision !== expectedRevision) return null;
      // The expected revision, but another change's marker: finish it (it then moves the revision) or wait.
      if (current.pending) await this.steps.unblock(COLLECTIONS.promotionRequests, current, attempt);
      else await backoff(attempt);
    }
    throw new ConflictError(`Promotion request ${next.id} is being changed by another request; try again`);
  }

  async listPromotionRequests(filter: { modelName: string; status: PromotionStatus | null; now: Date }, page: PageRequest): Promise<Page<PromotionRequest>> {
    const after = decodeCursor(page.after, ['number', 'string'] as const);
    await this.steps.settle(COLLECTIONS.promotionRequests, {}, undefined, 'wait');
    const q = requestsQuery(filter, after, page.first);
    const [rows, total] = await Promise.all([this.steps.find<RequestDoc>(q.page), this.steps.count(q.count)]);
    return toPage(rows.map(docToRequest), page.first, total, (r) => [r.requestedAt.getTime(), r.id]);
  }
}
