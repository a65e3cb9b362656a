import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, promote, publish, startRegistry } from '../../support/api-harness.js';

const CREATE = `mutation($name: String!, $envs: [String!]) {
  createApiToken(name: $name, role: DEPLOYER, environments: $envs) { secret token { id environments } }
}`;
const denials = async (h: Harness, tokenId: string) =>
  (await h.ok(`{ auditEvents(action: "ACCESS_DENIED", first: 100) { edges { node { actor details } } } }`)).auditEvents.edges
    .map((e: { node: { actor: string; details: Record<string, unknown> } }) => e.node)
    .filter((n: { actor: string }) => n.actor.includes(tokenId));

/** A deployer token limited to some environments: deployment changes elsewhere are FORBIDDEN and audited once each. */
describe('per-environment API tokens', () => {
  let h: Harness;
  let staging: { secret: string; id: string };
  let v1: string;
  let v2: string;
  beforeAll(async () => {
    h = await startRegistry();
    v1 = await publish(h, 'envs');
    v2 = await publish(h, 'envs');
    expect((await promote(h, v1)).errors).toBeUndefined();
    expect((await promote(h, v2)).errors).toBeUndefined();
    const created = (await h.ok(CREATE, { name: 'staging-only', envs: ['staging'] })).createApiToken;
    staging = { secret: created.secret, id: created.token.id };
    expect(created.token.environments).toEqual(['staging']);
  });
  afterAll(async () => {
    await h.close();
  });

  it('lists the environments of each token (null: every environment) and shows them to the caller', async () => {
    const all = (await h.ok(CREATE, { name: 'everywhere', envs: null })).createApiToken;
    expect(all.token.environments).toBeNull();
    const listed = (await h.ok(`{ apiTokens { id environments } }`)).apiTokens as { id: string; environments: string[] | null }[];
    expect(listed.find((t) => t.id === staging.id)?.environments).toEqual(['staging']);
    expect(listed.find((t) => t.id === all.token.id)?.environments).toBeNull();
    expect((await h.as(staging.secret).ok(`{ viewer { environments } }`)).viewer.environments).toEqual(['staging']);
  });

  it('refuses an empty list or an invalid environment name, creating nothing', async () => {
    const before = (await h.ok(`{ apiTokens { id } }`)).apiTokens.length;
    for (const envs of [[], ['Prod!']]) {
      const r = await h.gql(CREATE, { name: 'bad', envs });
      expect(r.errors?.[0]?.extensions.code).toBe('BAD_USER_INPUT');
    }
    expect((await h.ok(`{ apiTokens { id } }`)).apiTokens.length).toBe(before);
  });

  it('promotes in its own environment', async () => {
    const r = await h.as(staging.secret).gql(
      `mutation($input: PromoteInput!) { promoteModelVersion(input: $input) { environment version { id } } }`,
      { input: { versionId: v1, environment: 'staging' } },
    );
    expect(r.errors).toBeUndefined();
    expect(r.data.promoteModelVersion).toEqual({ environment: 'staging', version: { id: v1 } });
  });

  it('is FORBIDDEN to promote or roll back in production, with one ACCESS_DENIED event each and nothing moved', async () => {
    const as = h.as(staging.secret);
    const before = await denials(h, staging.id);
    const promoteCode = await as.code(`mutation($input: PromoteInput!) { promoteModelVersion(input: $input) { id } }`, { input: { versionId: v1, environment: 'production' } });
    expect(promoteCode).toBe('FORBIDDEN');
    const rollbackCode = await as.code(`mutation { rollbackModel(input: { modelName: "envs", environment: "production" }) { id } }`);
    expect(rollbackCode).toBe('FORBIDDEN');
    const after = await denials(h, staging.id);
    expect(after.length - before.length).toBe(2);
    expect(after.slice(0, 2).map((e: { details: { operation: string } }) => e.details.operation).sort()).toEqual(['promote', 'roll back']);
    expect((await h.ok(`{ productionModel(modelName: "envs") { id } }`)).productionModel.id).toBe(v2);
  });
});
