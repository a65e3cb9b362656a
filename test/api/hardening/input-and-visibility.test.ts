import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, REGISTER, publish, sha256, startRegistry } from '../../support/api-harness.js';

/** Issue 9, items 8, 9, 12, 13, 14, 15, 19.9: input the registry must refuse, and what viewers must not read. */
describe('hostile input and visibility (issue 9)', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startRegistry({ REGISTRY_ACCESS_DENIED_AUDIT_LIMIT: '3', REGISTRY_ACCESS_DENIED_AUDIT_WINDOW_SECONDS: '1' });
    await publish(h, 'iris');
  });
  afterAll(async () => {
    await h?.close();
  });

  const art = { path: 'm.bin', sizeBytes: 3, sha256: sha256('abc') };
  const register = (input: Record<string, unknown>) =>
    h.gql(REGISTER, { input: { modelName: 'iris', modelType: 't', datasetVersion: 'd', metrics: [], artifacts: [art], ...input } });
  const auditCount = async () => (await h.ok('{ auditEvents { totalCount } }')).auditEvents.totalCount as number;

  it('refuses hyperparameters nested deeper than 32 levels, and writes nothing (item 8)', async () => {
    let deep: Record<string, unknown> = { leaf: 1 };
    for (let i = 0; i < 4000; i++) deep = { d: deep };
    const before = await auditCount();
    const r = await register({ hyperparameters: deep });
    expect(r.errors?.[0]).toMatchObject({ extensions: { code: 'BAD_USER_INPUT', field: 'input.hyperparameters' } });
    expect(r.errors?.[0]?.message).toMatch(/at most 32 levels/);
    let ok: Record<string, unknown> = { leaf: 1 };
    for (let i = 0; i < 31; i++) ok = { d: ok };
    expect((await register({ hyperparameters: ok })).errors).toBeUndefined();
    expect(await auditCount()).toBe(before + 1);
  });

  it('refuses artifact paths where one would be a folder of another (item 9)', async () => {
    const r = await register({ artifacts: [art, { ...art, path: 'm.bin/inner' }] });
    expect(r.errors?.[0]).toMatchObject({ extensions: { code: 'BAD_USER_INPUT', field: 'input.artifacts[1].path' } });
    const r2 = await register({ artifacts: [{ ...art, path: 'a/b/c' }, { ...art, path: 'a/b' }] });
    expect(r2.errors?.[0]?.message).toMatch(/"a\/b" and "a\/b\/c" cannot both exist/);
    expect((await register({ artifacts: [{ ...art, path: 'a/b' }, { ...art, path: 'a/bc' }] })).errors).toBeUndefined();
  });

  it('refuses bidi overrides, format characters and unpaired surrogates in names, tags and texts (items 13, 19.9)', async () => {
    for (const name of ['admin\u202Egpj.exe', 'zero\u200Bwidth', 'bom\uFEFF', 'lone\uD800']) {
      const r = await h.gql(`mutation($n: String!) { createApiToken(name: $n, role: VIEWER) { secret } }`, { n: name });
      expect(r.errors?.[0]?.extensions, JSON.stringify(name)).toMatchObject({ code: 'BAD_USER_INPUT', field: 'name' });
    }
    expect((await register({ tags: ['ok', 'x\u2066y'] })).errors?.[0]?.extensions).toMatchObject({ field: 'input.tags[1]' });
    expect((await register({ description: 'line one\nline \u202Etwo' })).errors?.[0]?.extensions).toMatchObject({ field: 'input.description' });
    expect((await register({ datasetVersion: 'ds\uDC00' })).errors?.[0]?.extensions).toMatchObject({ field: 'input.datasetVersion' });
    expect((await register({ hyperparameters: { ['k\uD83D']: 1 } })).errors?.[0]?.extensions).toMatchObject({ field: 'input.hyperparameters' });
    // Emoji (a surrogate pair, joined by U+200D) stay fine in free text.
    expect((await register({ description: 'family 👨‍👩‍👧 ok' })).errors).toBeUndefined();
  });

  it('refuses impossible dates instead of rolling them over (item 15)', async () => {
    const exp = (d: string) => h.gql(`mutation($d: DateTime) { createApiToken(name: "dated", role: VIEWER, expiresAt: $d) { token { expiresAt } } }`, { d });
    for (const d of ['2027-02-31T00:00:00.000Z', '2027-02-29T00:00:00Z', '2027-04-31T10:00:00Z', '2027-01-01T24:00:00Z', '2027-01-01T10:60:00Z', '2027-01-01T10:00:00+24:00']) {
      expect((await exp(d)).errors?.[0]?.extensions.code, d).toBe('BAD_USER_INPUT');
    }
    expect((await exp('2028-02-29T23:59:59.999Z')).data?.createApiToken.token.expiresAt).toBe('2028-02-29T23:59:59.999Z');
    expect((await exp('2027-03-01T00:30:00+01:00')).data?.createApiToken.token.expiresAt).toBe('2027-02-28T23:30:00.000Z');
  });

  it('shows token events to admins only (item 12)', async () => {
    const viewer = await h.token('VIEWER', { name: 'dash' });
    const adminSees = await h.ok(`{ auditEvents(action: "API_TOKEN_CREATED") { totalCount } }`);
    expect(adminSees.auditEvents.totalCount).toBeGreaterThan(0);
    const q = `{ auditEvents(first: 100) { totalCount edges { node { action } } } }`;
    const seen = (await h.as(viewer.secret).ok(q)).auditEvents;
    expect(seen.edges.some((e: { node: { action: string } }) => e.node.action.startsWith('API_TOKEN_'))).toBe(false);
    expect(seen.totalCount).toBe((await h.ok(q)).auditEvents.totalCount - (await h.ok(`{ a: auditEvents(action: "API_TOKEN_CREATED") { totalCount } b: auditEvents(action: "API_TOKEN_REVOKED") { totalCount } }`)).a.totalCount);
    expect((await h.as(viewer.secret).ok(`{ auditEvents(action: "API_TOKEN_CREATED") { totalCount } }`)).auditEvents.totalCount).toBe(0);
  });

  it('records a few refused mutations per token one by one, then one summary per window (item 14)', async () => {
    const viewer = await h.token('VIEWER', { name: 'noisy' });
    const before = await auditCount();
    const refused = await Promise.all(
      Array.from({ length: 40 }, () => h.as(viewer.secret).gql(`mutation { updateModel(name: "iris", description: "x") { name } }`)),
    );
    expect(refused.every((r) => r.errors?.[0]?.extensions.code === 'FORBIDDEN')).toBe(true);
    expect(await auditCount()).toBe(before + 3);
    await new Promise((r) => setTimeout(r, 1500));
    const summary = await h.ok(`{ auditEvents(action: "ACCESS_DENIED_SUMMARY", first: 1) { edges { node { actor details } } } }`);
    expect(summary.auditEvents.edges[0].node).toMatchObject({ actor: expect.stringContaining('noisy ('), details: { tokenId: viewer.id, refusalsNotRecordedOneByOne: 37 } });
    expect(await auditCount()).toBe(before + 4);
  });
});
