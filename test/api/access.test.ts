import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENV_ADMIN_ACTOR, type Harness, REGISTER, promote, publish, sha256, startRegistry, stats } from '../support/api-harness.js';

type Perm = 'read' | 'publish' | 'deploy' | 'admin';
interface Op {
  name: string;
  perm: Perm;
  query: string;
  vars?: () => Record<string, unknown>;
}

/**
 * Every operation under every kind of caller: no token, a bad, revoked or expired one, the wrong
 * role, the wrong scope. A snapshot of the store before and after shows that nothing is written
 * beyond the ACCESS_DENIED events a refused mutation by a known token leaves.
 */
describe('access control on every operation', () => {
  let h: Harness;
  const ids: Record<string, string> = {};
  const tokens: Record<string, string> = {};
  beforeAll(async () => {
    h = await startRegistry({ REGISTRY_ACCESS_DENIED_AUDIT_LIMIT: "10000" });
    ids.other = await publish(h, 'other');
    ids.other2 = await publish(h, 'other');
    ids.team = await publish(h, 'team-a');
    ids.team2 = await publish(h, 'team-a');
    await promote(h, ids.other);
    await promote(h, ids.other2);
    await promote(h, ids.team);
    for (const role of ['VIEWER', 'PUBLISHER', 'DEPLOYER'] as const) tokens[role] = (await h.token(role)).secret;
    tokens.scoped = (await h.token('ADMIN', { name: 'team-admin', modelScope: 'team-*' })).secret;
    tokens.exact = (await h.token('VIEWER', { name: 'exact', modelScope: 'team-a' })).secret;
    const revoked = await h.token('DEPLOYER', { name: 'revoked' });
    await h.ok(`mutation($id: ID!) { revokeApiToken(id: $id) { revokedAt } }`, { id: revoked.id });
    tokens.revoked = revoked.secret;
    tokens.expired = (await h.token('DEPLOYER', { name: 'expiring', expiresAt: new Date(Date.now() + 1500).toISOString() })).secret;
    await new Promise((r) => setTimeout(r, 1600));
  });
  afterAll(async () => {
    await h.close();
  });

  const art = { path: 'm.bin', sizeBytes: 3, sha256: sha256('abc') };
  const ops: Op[] = [
    { name: 'models', perm: 'read', query: `{ models { totalCount } }` },
    { name: 'model', perm: 'read', query: `{ model(name: "other") { name } }` },
    { name: 'modelVersion', perm: 'read', query: `query($id: ID!) { modelVersion(id: $id) { id } }`, vars: () => ({ id: ids.other }) },
    { name: 'modelVersions', perm: 'read', query: `{ modelVersions(modelName: "other") { totalCount } }` },
    { name: 'productionModel', perm: 'read', query: `{ productionModel(modelName: "other") { id } }` },
    { name: 'compareVersions', perm: 'read', query: `{ compareVersions(modelName: "other") { rank } }` },
    { name: 'deploymentHistory', perm: 'read', query: `{ deploymentHistory(modelName: "other") { totalCount } }` },
    { name: 'auditEvents', perm: 'read', query: `{ auditEvents { totalCount } }` },
    { name: 'verifyAuditLog', perm: 'read', query: `{ verifyAuditLog { valid } }` },
    { name: 'registryStats', perm: 'read', query: `{ registryStats { models } }` },
    { name: 'viewer', perm: 'read', query: `{ viewer { name } }` },
    { name: 'apiTokens', perm: 'admin', query: `{ apiTokens { id } }` },
    { name: 'registerModelVersion', perm: 'publish', query: REGISTER, vars: () => ({ input: { modelName: 'other', modelType: 'rf', datasetVersion: 'd', metrics: [], artifacts: [art] } }) },
    { name: 'uploadPlan', perm: 'publish', query: `{ uploadPlan(sizeBytes: 1000) { inParts } }` },
    { name: 'createUploadUrls', perm: 'publish', query: `mutation($id: ID!) { createUploadUrls(versionId: $id) { path } }`, vars: () => ({ id: ids.other }) },
    { name: 'completeModelVersionUpload', perm: 'publish', query: `mutation($id: ID!) { completeModelVersionUpload(versionId: $id) { id } }`, vars: () => ({ id: ids.other }) },
    { name: 'updateModelVersion', perm: 'publish', query: `mutation($id: ID!) { updateModelVersion(versionId: $id, description: "x") { id } }`, vars: () => ({ id: ids.other }) },
    { name: 'updateModel', perm: 'publish', query: `mutation { updateModel(name: "other", description: "x") { name } }` },
    { name: 'promoteModelVersion', perm: 'deploy', query: `mutation($id: ID!) { promoteModelVersion(input: { versionId: $id }) { id } }`, vars: () => ({ id: ids.other }) },
    { name: 'rollbackModel', perm: 'deploy', query: `mutation { rollbackModel(input: { modelName: "other" }) { id } }` },
    { name: 'archiveModelVersion', perm: 'deploy', query: `mutation($id: ID!) { archiveModelVersion(versionId: $id) { id } }`, vars: () => ({ id: ids.other }) },
    { name: 'createApiToken', perm: 'admin', query: `mutation { createApiToken(name: "x", role: VIEWER) { secret } }` },
    { name: 'revokeApiToken', perm: 'admin', query: `mutation { revokeApiToken(id: "bootstrap-admin") { id } }` },
  ];
  const mutation = (op: Op) => op.query.trimStart().startsWith('mutation');
  /** The weakest role that lacks the permission. */
  const tooWeak: Record<Perm, string | null> = { read: null, publish: 'VIEWER', deploy: 'PUBLISHER', admin: 'DEPLOYER' };

  async function snapshot() {
    const s = await stats(h);
    const head = await h.ok(`{ auditEvents(first: 1) { edges { node { action actor } } } apiTokens { id revokedAt } }`);
    return { s, head: head.auditEvents.edges[0]?.node, tokens: head.apiTokens };
  }

  describe.each(ops.map((o) => [o.name, o] as [string, Op]))('%s', (_n, op) => {
    it('is UNAUTHENTICATED (401) without a token, or with a bad, revoked or expired one, and writes nothing', async () => {
      const before = await snapshot();
      for (const secret of [null, 'not-a-token', `mr_${'A'.repeat(43)}`, tokens.revoked!, tokens.expired!]) {
        const r = await h.as(secret).gql(op.query, op.vars?.());
        expect(r.status, String(secret)).toBe(401);
        expect(r.errors?.map((e) => e.extensions.code)).toEqual(['UNAUTHENTICATED']);
        expect(r.data).toBeNull();
      }
      for (const header of ['Basic dXNlcjpwYXNz', 'Bearer', `Bearer ${h.adminToken} ${h.adminToken}`, `bearer  ${h.adminToken}x`]) {
        const r = await h.gql(op.query, op.vars?.(), { authorization: header });
        expect(r.errors?.[0]?.extensions.code, header).toBe('UNAUTHENTICATED');
      }
      expect(await snapshot()).toEqual(before);
    });

    const weak = tooWeak[op.perm];
    if (weak) {
      it(`is FORBIDDEN for a ${weak.toLowerCase()} token, leaving only an ACCESS_DENIED event`, async () => {
        const before = await snapshot();
        const r = await h.as(tokens[weak]!).gql(op.query, op.vars?.());
        expect(r.errors?.map((e) => e.extensions.code)).toEqual(['FORBIDDEN']);
        const after = await snapshot();
        if (mutation(op)) {
          expect(after.s).toEqual({ ...before.s, auditEvents: before.s.auditEvents + 1 });
          expect(after.head).toEqual({ action: 'ACCESS_DENIED', actor: expect.stringMatching(/^[a-z]+-token \([0-9a-f-]{36}\)$/) });
        } else {
          expect(after).toEqual(before);
        }
        expect(after.tokens).toEqual(before.tokens);
      });
    }
  });

  describe('a token scoped to team-*', () => {
    const scoped = () => h.as(tokens.scoped!);
    it('sees other models as if they did not exist', async () => {
      expect((await scoped().ok(`{ model(name: "other") { name } }`)).model).toBeNull();
      expect((await scoped().ok(`query($id: ID!) { modelVersion(id: $id) { id } }`, { id: ids.other })).modelVersion).toBeNull();
      for (const q of [`{ modelVersions(modelName: "other") { totalCount } }`, `{ productionModel(modelName: "other") { id } }`, `{ compareVersions(modelName: "other") { rank } }`, `{ deploymentHistory(modelName: "other") { totalCount } }`]) {
        expect(await scoped().code(q), q).toBe('NOT_FOUND');
      }
      expect((await scoped().ok(`{ models { edges { node { name } } } }`)).models.edges).toEqual([{ node: { name: 'team-a' } }]);
      const events = await scoped().ok(`{ auditEvents(first: 100) { edges { node { modelName } } } }`);
      expect(events.auditEvents.edges.length).toBeGreaterThan(0);
      expect(events.auditEvents.edges.every((e: { node: { modelName: string } }) => e.node.modelName === 'team-a')).toBe(true);
      expect(await scoped().code(`{ registryStats { models } }`)).toBe('FORBIDDEN');
      expect(await scoped().code(`{ verifyAuditLog { valid } }`)).toBe('FORBIDDEN');
      const dl = await fetch(`${h.url}/v1/models/other/versions/production/artifacts/model.pkl`, { headers: h.auth(tokens.scoped), redirect: 'manual' });
      expect(dl.status).toBe(404);
      const mine = await fetch(`${h.url}/v1/models/team-a/versions/production/artifacts/model.pkl`, { headers: h.auth(tokens.scoped), redirect: 'manual' });
      expect(mine.status).toBe(302);
    });

    it('acts inside its scope; outside it, a version id is NOT_FOUND and a model name FORBIDDEN, each with an ACCESS_DENIED event', async () => {
      expect((await scoped().ok(`mutation($id: ID!) { promoteModelVersion(input: { versionId: $id }) { status } }`, { id: ids.team2 })).promoteModelVersion.status).toBe('SUCCEEDED');
      const before = await snapshot();
      for (const op of ops.filter((o) => mutation(o) && o.perm !== 'admin')) {
        const r = await scoped().gql(op.query, op.vars?.());
        // Named by id, another model's version must look exactly like one that does not exist.
        const byId = op.vars !== undefined && JSON.stringify(op.vars()).includes(ids.other!);
        expect(r.errors?.[0]?.extensions.code, op.name).toBe(byId ? 'NOT_FOUND' : 'FORBIDDEN');
        if (byId) expect(r.errors?.[0]?.message).toBe(`Model version ${ids.other} does not exist`);
      }
      const after = await snapshot();
      const refused = ops.filter((o) => mutation(o) && o.perm !== 'admin').length;
      expect(after.s).toEqual({ ...before.s, auditEvents: before.s.auditEvents + refused });
      expect(after.head).toEqual({ action: 'ACCESS_DENIED', actor: expect.stringContaining('team-admin (') });
      expect(await scoped().code(`mutation { createApiToken(name: "y", role: VIEWER) { secret } }`)).toBe('FORBIDDEN');
    });

    it('an exact scope sees exactly that model', async () => {
      expect((await h.as(tokens.exact!).ok(`{ models { edges { node { id name } } } }`)).models.edges).toEqual([{ node: { id: 'team-a', name: 'team-a' } }]);
      expect((await h.as(tokens.exact!).ok(`{ viewer { role modelScope name } }`)).viewer).toEqual({ role: 'VIEWER', modelScope: 'team-a', name: expect.stringMatching(/^exact \(/) });
    });
  });

  describe('tokens', () => {
    it('shows the secret once, keeps only its hash, and records who did what', async () => {
      const created = await h.ok(`mutation { createApiToken(name: "pipeline", role: PUBLISHER, modelScope: "fraud-*") { secret token { id name role modelScope active createdBy } } }`);
      const { secret, token } = created.createApiToken;
      expect(secret).toMatch(/^mr_[A-Za-z0-9_-]{43}$/);
      expect(token).toMatchObject({ name: 'pipeline', role: 'PUBLISHER', modelScope: 'fraud-*', active: true, createdBy: ENV_ADMIN_ACTOR });
      const listed = JSON.stringify(await h.ok(`{ apiTokens { id name role modelScope lastUsedAt revokedAt active } }`));
      expect(listed).not.toContain(secret);
      expect(listed).not.toContain(sha256(secret));
      const events = JSON.stringify(await h.ok(`{ auditEvents(first: 100) { edges { node { details actor } } } }`));
      expect(events).not.toContain(secret);
      expect(events).not.toContain(sha256(secret));
      expect(events).not.toContain(h.adminToken);
      const v = await publish(h, 'fraud-x');
      const as = h.as(secret);
      expect((await as.ok(`mutation($id: ID!) { updateModelVersion(versionId: $id, tags: ["by-pipeline"]) { tags createdBy } }`, { id: v })).updateModelVersion.tags).toEqual(['by-pipeline']);
      const who = await h.ok(`{ auditEvents(modelName: "fraud-x", first: 1) { edges { node { actor action } } } }`);
      expect(who.auditEvents.edges[0].node).toEqual({ actor: `pipeline (${token.id})`, action: 'MODEL_VERSION_UPDATED' });
      expect((await h.ok(`{ apiTokens { id lastUsedAt } }`)).apiTokens.find((t: { id: string }) => t.id === token.id).lastUsedAt).not.toBeNull();
      await h.ok(`mutation($id: ID!) { revokeApiToken(id: $id) { active } }`, { id: token.id });
      expect((await as.gql(`{ viewer { name } }`)).status).toBe(401);
    });

    it('refuses bad token input', async () => {
      for (const q of [
        `mutation { createApiToken(name: "", role: VIEWER) { secret } }`,
        `mutation { createApiToken(name: "x", role: VIEWER, modelScope: "../*") { secret } }`,
        `mutation { createApiToken(name: "x", role: VIEWER, modelScope: "Team*") { secret } }`,
        `mutation { createApiToken(name: "x", role: VIEWER, expiresAt: "2000-01-01T00:00:00.000Z") { secret } }`,
      ]) expect(await h.code(q), q).toBe('BAD_USER_INPUT');
      // Not a value of the Role enum: the document itself is invalid.
      expect(await h.code(`mutation { createApiToken(name: "x", role: ROOT) { secret } }`)).toBe('GRAPHQL_VALIDATION_FAILED');
      expect(await h.code(`mutation { revokeApiToken(id: "no-such-token") { id } }`)).toBe('NOT_FOUND');
    });
  });
});

describe('hostile input', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startRegistry();
    await publish(h, 'target');
  });
  afterAll(async () => {
    await h.close();
  });

  it('keeps prototype keys as plain data and pollutes nothing', async () => {
    const hyper = JSON.parse('{"__proto__": {"polluted": true}, "constructor": {"prototype": {"polluted": true}}, "toString": 1}');
    const body = JSON.stringify({ query: REGISTER.replace('modelName }', 'modelName hyperparameters }'), variables: { input: { modelName: 'proto', modelType: 'rf', datasetVersion: 'd', metrics: [], hyperparameters: hyper, artifacts: [{ path: 'm', sizeBytes: 1, sha256: sha256('x') }] } } });
    const res = await fetch(`${h.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', ...h.auth() }, body });
    const json = (await res.json()) as { data: { registerModelVersion: { version: { hyperparameters: unknown } } } };
    expect(JSON.stringify(json.data.registerModelVersion.version.hyperparameters)).toBe('{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}},"toString":1}');
    const literal = await h.gql(`mutation { registerModelVersion(input: { modelName: "proto", modelType: "rf", datasetVersion: "d", metrics: [], hyperparameters: { __proto__: { polluted: true } }, artifacts: [{ path: "m", sizeBytes: 1, sha256: "${sha256('x')}" }] }) { version { hyperparameters } } }`);
    expect(JSON.stringify(literal.data.registerModelVersion.version.hyperparameters)).toBe('{"__proto__":{"polluted":true}}');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect((Object.prototype as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('refuses huge strings and arrays with BAD_USER_INPUT or 413, writing nothing', async () => {
    const before = await stats(h);
    const input = { modelName: 'target', modelType: 'rf', datasetVersion: 'd', metrics: [], artifacts: [{ path: 'm', sizeBytes: 1, sha256: sha256('x') }] };
    expect((await h.gql(REGISTER, { input: { ...input, description: 'x'.repeat(100_000) } })).errors?.[0]?.extensions.code).toBe('BAD_USER_INPUT');
    expect((await h.gql(REGISTER, { input: { ...input, featureNames: Array.from({ length: 20_000 }, (_, i) => `f${i}`) } })).errors?.[0]?.extensions.code).toBe('BAD_USER_INPUT');
    expect((await h.gql(REGISTER, { input: { ...input, tags: Array.from({ length: 51 }, (_, i) => `t${i}`) } })).errors?.[0]?.extensions.code).toBe('BAD_USER_INPUT');
    expect((await h.gql(REGISTER, { input: { ...input, modelName: 'a'.repeat(2_000_000) } })).status).toBe(413);
    const tenMiB = await fetch(`${h.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', ...h.auth() }, body: 'x'.repeat(10 * 1024 * 1024) });
    expect(tenMiB.status).toBe(413);
    expect(await stats(h)).toEqual(before);
  });

  it('refuses deep, wide, costly and aliased queries before running them', async () => {
    const deep = `{ model(name: "target") { versions { edges { node { deployments { edges { node { version { deployments { edges { node { version { deployments { edges { node { id } } } } } } } } } } } } } } } }`;
    const cyclic = `query { modelVersions(modelName: "target") { edges { node { ...V } } } } fragment V on ModelVersion { deployments { edges { node { version { ...V } } } } }`;
    const viaFragments = `query { model(name: "target") { ...A } } fragment A on Model { versions { edges { node { ...B } } } } fragment B on ModelVersion { deployments { edges { node { version { deployments { edges { node { version { deployments { edges { node { version { id } } } } } } } } } } } } }`;
    const aliases = `{ ${Array.from({ length: 31 }, (_, i) => `a${i}: viewer { name }`).join(' ')} }`;
    const tokensFlood = `{ viewer { ${'name '.repeat(6000)} } }`;
    const directives = `{ viewer { name ${'@include(if: true) '.repeat(21)} } }`;
    const costly = `{ modelVersions(modelName: "target", first: 100) { edges { node { deployments(first: 100) { edges { node { version { deployments(first: 100) { totalCount } } } } } } } } }`;
    const twoDeploys = `mutation { a: rollbackModel(input: { modelName: "target" }) { id } b: rollbackModel(input: { modelName: "target" }) { id } }`;
    const deployPlus = `mutation { rollbackModel(input: { modelName: "target" }) { id } updateModel(name: "target", description: "x") { name } }`;
    const before = await stats(h);
    for (const [name, q] of Object.entries({ deep, cyclic, viaFragments, aliases, tokensFlood, directives, costly, twoDeploys, deployPlus })) {
      const r = await h.gql(q);
      // Refused while parsing (too many tokens) or validating (the limit rules): document failures.
      expect(r.errors?.[0]?.extensions.code, name).toBe(name === 'tokensFlood' ? 'GRAPHQL_PARSE_FAILED' : 'GRAPHQL_VALIDATION_FAILED');
      expect(r.data, name).toBeNull();
    }
    expect(await stats(h)).toEqual(before);
    expect((await fetch(`${h.url}/healthz`)).status).toBe(200);
  });

  it('gives anonymous callers no schema: no introspection, no suggestions', async () => {
    const intro = await h.as(null).gql(`{ __schema { types { name } } }`);
    expect(intro.status).toBe(401);
    const typo = await h.as(null).gql(`{ modle(name: "x") { name } }`);
    expect(JSON.stringify(typo)).not.toContain('Did you mean');
    expect((await h.gql(`{ __schema { queryType { name } } }`)).data).toEqual({ __schema: { queryType: { name: 'Query' } } });
  });

  it('refuses the download route without a valid token', async () => {
    for (const headers of [{}, { authorization: 'Bearer nope' }] as Record<string, string>[]) {
      const res = await fetch(`${h.url}/v1/models/target/versions/latest/artifacts/model.pkl`, { headers, redirect: 'manual' });
      expect(res.status).toBe(401);
      expect(await res.json()).toMatchObject({ code: 'UNAUTHENTICATED' });
    }
  });
});
