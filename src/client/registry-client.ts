import {
  ApiTokensDocument, AuditEventsDocument, type AuditEventFieldsFragment, CompareVersionsDocument, CreateApiTokenDocument, DeploymentHistoryDocument,
  ModelVersionsDocument, ModelsDocument, RegistryEventsDocument, RevokeApiTokenDocument, type Role, type SortDirection, VerifyAuditLogDocument, ViewerDocument,
} from './generated/graphql.js';
import { type PromoteOptions, type RollbackOptions, promote, rollback } from './deploy.js';
import { fetchAuditExport, fetchAuditPublicKey } from './audit-export.js';
import { fetchManifest } from './manifest.js';
import { type PullOptions, pull } from './pull.js';
import { type PushOptions, push } from './push.js';
import { subscribe, subscriptionClient } from './subscriptions.js';
import { type ClientOptions, Transport } from './transport.js';
import { type WatchOptions, productionModel, watchProduction } from './watch.js';

/**
 * The typed client of the registry: the operations the CLI uses, each one typed by the documents
 * generated from schema.graphql. For anything else, `request(SomeDocument, variables)` sends a
 * generated (or your own typed) document.
 */
export class RegistryClient {
  readonly transport: Transport;
  constructor(options: ClientOptions) {
    this.transport = new Transport(options);
  }

  /** Any typed document (e.g. from `model-registry/client`'s generated documents). */
  request: Transport['request'] = (doc, variables, retry) => this.transport.request(doc, variables, retry);

  push = (o: PushOptions) => push(this.transport, o);
  pull = (o: PullOptions) => pull(this.transport, o);
  promote = (o: PromoteOptions) => promote(this.transport, o);
  rollback = (o: RollbackOptions) => rollback(this.transport, o);
  productionModel = (model: string, environment?: string) => productionModel(this.transport, model, environment);
  /** The signed checkpoints and the events up to the newest of them, as JSON lines (unscoped admin), for `verifyOffline`. */
  auditExport = () => fetchAuditExport(this.transport);
  auditPublicKey = () => fetchAuditPublicKey(this.transport);
  watchProduction = (model: string, o?: WatchOptions) => watchProduction(this.transport, model, o);
  /** The manifest of model@ref; with `etag`, `{ notModified: true }` while it still resolves to the same version. */
  manifest = (model: string, ref: string, etag?: string | null) => fetchManifest(this.transport, model, ref, etag);

  viewer = async () => (await this.request(ViewerDocument, {})).viewer;
  models = async (o: { first?: number; after?: string; search?: string } = {}) => (await this.request(ModelsDocument, o)).models;
  versions = async (model: string, o: { first?: number; after?: string } = {}) => (await this.request(ModelVersionsDocument, { modelName: model, ...o })).modelVersions;
  compare = async (model: string, o: { metric?: string; first?: number; direction?: SortDirection } = {}) =>
    (await this.request(CompareVersionsDocument, { modelName: model, ...o })).compareVersions;
  history = async (model: string, o: { environment?: string; first?: number; after?: string } = {}) =>
    (await this.request(DeploymentHistoryDocument, { modelName: model, ...o })).deploymentHistory;
  verifyAuditLog = async () => (await this.request(VerifyAuditLogDocument, {})).verifyAuditLog;
  auditEvents = async (o: { first?: number; after?: string; modelName?: string; action?: string } = {}) => (await this.request(AuditEventsDocument, o)).auditEvents;
  tokens = async () => (await this.request(ApiTokensDocument, {})).apiTokens;
  /** Not retried: a second try after a lost answer would create a second token. */
  createToken = async (o: { name: string; role: Role; modelScope?: string; expiresAt?: string; environments?: string[] }) => (await this.request(CreateApiTokenDocument, o, false)).createApiToken;
  revokeToken = async (id: string) => (await this.request(RevokeApiTokenDocument, { id })).revokeApiToken;

  /** Audit events after `afterSequence` (all when null), then each new one as it is committed, until `signal` aborts. */
  async *auditTail(o: { afterSequence?: number | null; modelName?: string; actions?: string[]; signal?: AbortSignal } = {}): AsyncGenerator<AuditEventFieldsFragment> {
    const client = subscriptionClient(this.transport);
    try {
      const vars = { afterSequence: o.afterSequence ?? null, ...(o.modelName ? { modelName: o.modelName } : {}), ...(o.actions ? { actions: o.actions } : {}) };
      // After a reconnect graphql-ws subscribes again with the same variables: skip what was already given.
      let last = o.afterSequence ?? 0;
      for await (const d of subscribe(client, RegistryEventsDocument, vars, o.signal)) {
        if (d.registryEvents.sequence <= last) continue;
        last = d.registryEvents.sequence;
        yield d.registryEvents;
      }
    } finally {
      await client.dispose();
    }
  }
}
