import { InvalidArgumentError, NotFoundError } from '../../domain/errors.js';
import { checkLabels } from '../../domain/lineage.js';
import type { Model, ModelVersion, Page } from '../../domain/model.js';
import { metricValue } from '../../domain/policy.js';
import type { Principal } from '../../domain/token.js';
import { checkEnvironment, checkMetricName, checkModelName, checkPageSize, checkVersionIdFormat } from '../../domain/validation.js';
import { type VersionFilterInput, checkVersionFilter, checkVersionOrder } from '../../domain/version-search.js';
import type { AccessService } from '../access.service.js';
import type { CompareArgs, VersionComparison } from '../comparison/ranking.js';
import { rankPage } from '../comparison/ranking.js';
import { AuditAction, type ServiceDeps, auditDraft } from '../service-deps.js';
import { notFound } from '../version.service.js';
import { type HyperparameterChange, diffHyperparameters } from './hyperparameter-diff.js';

export interface MetricDelta {
  name: string;
  value: number | null;
  baselineValue: number | null;
  delta: number | null;
}

/** A ranking row with what compareVersions(metrics, baseline) adds. */
export interface BaselineComparison extends VersionComparison {
  baseline: ModelVersion | null;
  metricDeltas: MetricDelta[];
  hyperparameterDiff: HyperparameterChange[] | null;
}

export interface BaselineArgs {
  /** Null or absent: the ranking metric only. */
  metrics: string[] | null;
  /** Exactly one of the two; absent: the production deployment. */
  baseline: { environment?: string | null; versionId?: string | null } | null;
}

/** Metrics compared per version at most. */
export const MAX_COMPARED_METRICS = 20;

/** modelVersions(filter, orderBy), setVersionLabels and compareVersions against a baseline. */
export class VersionSearchService {
  constructor(
    private readonly deps: ServiceDeps,
    private readonly access: AccessService,
  ) {}

  async search(
    principal: Principal, modelName: string, filter: VersionFilterInput | null, order: { by?: string | null; metric?: string | null; direction?: string | null } | null,
    page: { first: number; after: string | null },
  ): Promise<Page<ModelVersion>> {
    // Every argument is checked before anything is read.
    checkModelName('modelName', modelName);
    const checked = checkVersionFilter('filter', filter);
    const first = checkPageSize('first', page.first);
    const model = await this.requireModel(principal, modelName);
    const ordered = checkVersionOrder('orderBy', order, model.primaryMetric);
    return this.deps.store.searchVersions({ modelName, filter: checked, order: ordered }, { first, after: page.after ?? null });
  }

  async setLabels(versionId: string, labels: unknown, actor: Principal): Promise<ModelVersion> {
    checkVersionIdFormat('versionId', versionId);
    const checked = checkLabels('labels', labels ?? {});
    const version = await this.deps.store.getVersion(versionId);
    if (!version) throw new NotFoundError(notFound(versionId));
    await this.access.requireById(actor, 'publish', version.modelName, 'set version labels', notFound(versionId));
    if (JSON.stringify(checked) === JSON.stringify(version.labels)) return version;
    const updated = await this.deps.store.setVersionLabels(
      version.id,
      checked,
      auditDraft(this.deps, actor, AuditAction.versionLabelsSet, { modelName: version.modelName, versionId: version.id }, { labels: checked, previous: version.labels }),
    );
    if (!updated) throw new NotFoundError(notFound(versionId));
    return updated;
  }

  /** compareVersions with `metrics` and/or `baseline`: the ranking page, each row with its deltas against the baseline. */
  async compare(principal: Principal, args: CompareArgs & { modelName: string } & BaselineArgs): Promise<Page<BaselineComparison>> {
    checkModelName('modelName', args.modelName);
    const metrics = this.checkMetrics(args.metrics);
    const target = this.checkBaseline(args.baseline);
    const model = await this.requireModel(principal, args.modelName);
    const baseline = await this.baselineVersion(model, target);
    const page = await rankPage(this.deps.store, model, args);
    const rankMetric = args.metric ?? model.primaryMetric;
    const names = metrics ?? [rankMetric];
    return {
      ...page,
      items: page.items.map(({ node, cursor }) => ({
        cursor,
        node: {
          ...node,
          baseline,
          metricDeltas: names.map((name) => {
            const value = metricValue(node.version.metrics, name);
            const baselineValue = baseline ? metricValue(baseline.metrics, name) : null;
            return { name, value, baselineValue, delta: value !== null && baselineValue !== null ? value - baselineValue : null };
          }),
          hyperparameterDiff: baseline ? diffHyperparameters(node.version.hyperparameters, baseline.hyperparameters) : null,
        },
      })),
    };
  }

  private checkMetrics(metrics: string[] | null): string[] | null {
    if (metrics === null) return null;
    if (metrics.length === 0 || metrics.length > MAX_COMPARED_METRICS) throw new InvalidArgumentError('metrics', `must list 1-${MAX_COMPARED_METRICS} metric names (or be left out)`);
    metrics.forEach((m, i) => checkMetricName(`metrics[${i}]`, m));
    return [...new Set(metrics)];
  }

  private checkBaseline(b: BaselineArgs['baseline']): { environment: string } | { versionId: string } {
    if (b === null) return { environment: 'production' };
    const env = b.environment ?? null;
    const id = b.versionId ?? null;
    if ((env === null) === (id === null)) throw new InvalidArgumentError('baseline', 'must give exactly one of environment and versionId');
    return env !== null ? { environment: checkEnvironment('baseline.environment', env) } : { versionId: checkVersionIdFormat('baseline.versionId', id!) };
  }

  /** The baseline version: the one deployed in the environment (null if none), or the version named (NOT_FOUND unless it is one of the model's). */
  private async baselineVersion(model: Model, target: { environment: string } | { versionId: string }): Promise<ModelVersion | null> {
    if ('environment' in target) {
      const pointer = await this.deps.store.getPointer(model.name, target.environment);
      return pointer?.versionId ? this.deps.store.getVersion(pointer.versionId) : null; // nothing live (never deployed, or undeployed)
    }
    const v = await this.deps.store.getVersion(target.versionId);
    if (!v || v.modelName !== model.name) throw new NotFoundError(`Model "${model.name}" has no version ${target.versionId}`);
    return v;
  }

  private async requireModel(principal: Principal, name: string): Promise<Model> {
    this.access.requireVisible(principal, name);
    const model = await this.deps.store.getModel(name);
    if (!model) throw new NotFoundError(`Model "${name}" does not exist`);
    return model;
  }
}

