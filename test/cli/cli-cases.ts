import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ArtifactBackend } from '../support/artifact-backends.js';
import { type ServerProcess, startServerProcess } from '../support/server-process.js';
import { cliJson, runCli, spawnCli } from '../support/cli.js';
import { tamperStoredArtifact } from '../support/stored-artifacts.js';

/**
 * The `model-registry` CLI as separate processes against a real registry process, on one artifact
 * store; cli.fs.test.ts and cli.s3.test.ts run it on each, as two files so that they run side by
 * side (one file took a third of the suite's time).
 */
export function describeCli(name: string, backend: ArtifactBackend): void {
  describe(`model-registry CLI, ${name}`, () => {
    let server: ServerProcess;
    let backendEnv: Record<string, string>;
    let closeBackend: () => Promise<void>;
    let dataDir: string;
    let work: string;
    let env: Record<string, string>;
    const token = randomBytes(32).toString('base64url');

    beforeAll(async () => {
      const b = await backend();
      backendEnv = b.env;
      closeBackend = b.close;
      dataDir = mkdtempSync(join(tmpdir(), 'registry-cli-'));
      work = mkdtempSync(join(tmpdir(), 'registry-cli-work-'));
      server = await startServerProcess({ REGISTRY_DATA_DIR: dataDir, REGISTRY_ADMIN_TOKEN: token, ...backendEnv });
      env = { REGISTRY_URL: server.url, REGISTRY_TOKEN: token };
    }, 60_000);
    afterAll(async () => {
      await server?.stop();
      await closeBackend?.();
      rmSync(dataDir, { recursive: true, force: true });
      rmSync(work, { recursive: true, force: true });
    });

    const gql = async (query: string, variables?: Record<string, unknown>) => {
      const res = await fetch(`${server.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify({ query, variables }) });
      return ((await res.json()) as { data: any }).data;
    };
    const files = (dir: string, content: Record<string, Buffer>) => {
      for (const [path, bytes] of Object.entries(content)) {
        mkdirSync(join(dir, path, '..'), { recursive: true });
        writeFileSync(join(dir, path), bytes);
      }
    };

    it('pushes files and a directory, pulls them back byte for byte, and lists, compares and shows the history as JSON', async () => {
      const src = join(work, 'rt-src');
      const content = { 'model.bin': randomBytes(3 * 1024 * 1024 + 17), 'conf/config.json': Buffer.from('{"threshold":0.4}'), 'conf/labels/classes.txt': Buffer.from('cat\ndog\n') };
      files(src, content);
      const pushed = await cliJson(['push', 'churn', join(src, 'model.bin'), join(src, 'conf'), '--type', 'xgboost', '--dataset', 'ds-7', '--metric', 'roc_auc=0.91', '--metric', 'f1=0.8',
        '--param', 'max_depth=6', '--param', 'objective=binary', '--feature', 'age', '--feature', 'plan', '--tag', 'nightly', '--description', 'first'], env, work);
      expect(pushed).toMatchObject({ model: 'churn', number: 1, status: 'READY', uploaded: true });
      expect(pushed.idempotencyKey).toMatch(/^push:[0-9a-f]{64}$/);

      const v = (await gql(`query($id: ID!) { modelVersion(id: $id) { hyperparameters featureNames tags description artifacts { path sizeBytes } metrics { name value } } }`, { id: pushed.versionId })).modelVersion;
      expect(v).toMatchObject({ hyperparameters: { max_depth: 6, objective: 'binary' }, featureNames: ['age', 'plan'], tags: ['nightly'], description: 'first' });
      // A directory's files are named by their path inside it.
      expect(v.artifacts.map((a: { path: string }) => a.path).sort()).toEqual(['config.json', 'labels/classes.txt', 'model.bin']);

      const out = join(work, 'rt-out');
      const pulled = await cliJson(['pull', `churn@${pushed.versionId}`, out], env);
      expect(pulled).toMatchObject({ versionId: pushed.versionId, number: 1, status: 'READY' });
      expect(readFileSync(join(out, 'model.bin')).equals(content['model.bin'])).toBe(true);
      expect(readFileSync(join(out, 'config.json')).equals(content['conf/config.json'])).toBe(true);
      expect(readFileSync(join(out, 'labels', 'classes.txt')).equals(content['conf/labels/classes.txt'])).toBe(true);
      expect(readdirSync(out).sort()).toEqual(['config.json', 'labels', 'model.bin']);

      // The same push again is the same version (its derived idempotency key), not a second one.
      const again = await cliJson(['push', 'churn', join(src, 'model.bin'), join(src, 'conf'), '--type', 'xgboost', '--dataset', 'ds-7', '--metric', 'roc_auc=0.91', '--metric', 'f1=0.8',
        '--param', 'max_depth=6', '--param', 'objective=binary', '--feature', 'age', '--feature', 'plan', '--tag', 'nightly', '--description', 'first'], env, work);
      expect(again).toMatchObject({ versionId: pushed.versionId, uploaded: false });

      const second = await cliJson(['push', 'churn', join(src, 'model.bin'), '--type', 'xgboost', '--dataset', 'ds-8', '--metric', 'roc_auc=0.95'], env, work);
      expect(second).toMatchObject({ number: 2, status: 'READY' });
      expect(await cliJson(['promote', 'churn@1'], env)).toMatchObject({ versionId: pushed.versionId, environment: 'production', action: 'PROMOTE', status: 'SUCCEEDED' });
      expect(await cliJson(['promote', 'churn@latest', '--require-improvement', 'roc_auc:1.01', '--reason', 'better'], env)).toMatchObject({ versionId: second.versionId, previousVersionId: pushed.versionId });

      const models = await cliJson(['models'], env);
      expect(models.models.find((m: { name: string }) => m.name === 'churn')).toMatchObject({ versionCount: 2, production: { number: 2 } });
      const versions = await cliJson(['versions', 'churn', '--sort', 'roc_auc'], env);
      expect(versions.versions.map((x: { number: number }) => x.number)).toEqual([2, 1]);
      const compared = await cliJson(['compare', 'churn', '--metric', 'roc_auc'], env);
      expect(compared.versions.map((r: { rank: number; value: number; version: { number: number } }) => [r.rank, r.version.number, r.value])).toEqual([[1, 2, 0.95], [2, 1, 0.91]]);
      const history = await cliJson(['history', 'churn'], env);
      expect(history.deployments.map((d: { number: number; active: boolean }) => [d.number, d.active])).toEqual([[2, true], [1, false]]);
      expect(await cliJson(['rollback', 'churn', '--reason', 'regression'], env)).toMatchObject({ action: 'ROLLBACK', versionId: pushed.versionId });
      expect((await cliJson(['pull', 'churn@production', join(work, 'rt-prod')], env)).versionId).toBe(pushed.versionId);

      // The human output: aligned tables, no JSON.
      const table = await runCli(['compare', 'churn'], env);
      expect(table.code).toBe(0);
      expect(table.stdout.split('\n')[0]).toMatch(/^rank\s+#\s+version id\s+roc_auc\s+Δ production/);
    }, 120_000);

    it('finishes a push killed half-way (kill -9) when run again: one version, READY', async () => {
      const src = join(work, 'kill-src');
      files(src, { 'weights.bin': randomBytes(48 * 1024 * 1024), 'small.txt': Buffer.from('a small file') });
      const args = ['push', 'killed', join(src, 'weights.bin'), join(src, 'small.txt'), '--type', 'cnn', '--dataset', 'ds-1', '--metric', 'acc=0.7', '--json'];
      const first = spawnCli(args, env, work);
      // Kill it once the version is registered, while its files are still being uploaded.
      let pendingAtKill: string | null = null;
      for (let i = 0; i < 600 && !pendingAtKill; i++) {
        const page = (await gql(`{ modelVersions(modelName: "killed") { edges { node { id status } } } }`))?.modelVersions;
        if (page?.edges.length) pendingAtKill = page.edges[0].node.status;
        else await new Promise((r) => setTimeout(r, 10));
      }
      first.child.kill('SIGKILL');
      const killed = await first.done;
      expect(killed.signal).toBe('SIGKILL');
      expect(pendingAtKill).toBe('PENDING_UPLOAD');

      const again = await runCli(args, env, work);
      expect(again.code, again.stderr).toBe(0);
      const result = JSON.parse(again.stdout) as { versionId: string; number: number; status: string };
      expect(result).toMatchObject({ number: 1, status: 'READY' });
      const page = (await gql(`{ modelVersions(modelName: "killed") { totalCount edges { node { id status } } } }`)).modelVersions;
      expect(page.totalCount).toBe(1);
      expect(page.edges[0].node).toEqual({ id: result.versionId, status: 'READY' });
      const out = join(work, 'kill-out');
      await cliJson(['pull', 'killed@1', out], env);
      expect(readFileSync(join(out, 'weights.bin')).equals(readFileSync(join(src, 'weights.bin')))).toBe(true);
    }, 120_000);

    it('refuses a tampered stored file on pull: exit 1 with a clear message (INTEGRITY from the client on S3; the encrypted embedded store refuses to serve it), and no file left behind', async () => {
      const src = join(work, 'tamper-src');
      files(src, { 'a.bin': randomBytes(256 * 1024), 'b.bin': randomBytes(1024 * 1024) });
      const pushed = await cliJson(['push', 'tampered', join(src, 'a.bin'), join(src, 'b.bin'), '--type', 't', '--dataset', 'd'], env, work);
      await tamperStoredArtifact(backendEnv, dataDir, 'tampered', pushed.versionId, 'b.bin');

      // A directory that exists with a file of its own, and a subdirectory the pull would create.
      files(join(work, 'tamper-out'), { 'mine.txt': Buffer.from('keep me') });
      const out = join(work, 'tamper-out', 'nested');
      const r = await runCli(['pull', 'tampered@latest', out], env);
      expect(r.code).toBe(1);
      // On S3 the altered bytes reach the client, whose sha256 check refuses them. The embedded store
      // encrypts at rest: it never serves an altered chunk and cuts the download there, which the
      // client reports (after its retries) as a failed transfer; nothing is kept either way.
      const refusal = backendEnv.S3_BUCKET
        ? /^error: b\.bin: the downloaded bytes do not match the registry's record \(expected 1048576 bytes with sha256 [0-9a-f]{64}, got 1048576 bytes with sha256 [0-9a-f]{64}\); nothing was kept \(INTEGRITY\)\n$/
        : /^error: The download of b\.bin at http:\/\/127\.0\.0\.1:\d+ failed: [A-Z_]+ \(NETWORK\)\n$/;
      expect(r.stderr).toMatch(refusal);
      expect(r.stderr).not.toMatch(/\bat .*\.ts:\d+/); // no stack trace
      expect(existsSync(out)).toBe(false);
      expect(readdirSync(join(work, 'tamper-out'))).toEqual(['mine.txt']);
      // Into an existing directory: no partial file either.
      const flat = await runCli(['pull', 'tampered@latest', join(work, 'tamper-out')], env);
      expect(flat.code).toBe(1);
      expect(readdirSync(join(work, 'tamper-out'))).toEqual(['mine.txt']);

      const json = await runCli(['pull', 'tampered@latest', out, '--json'], env);
      expect(json.code).toBe(1);
      expect(JSON.parse(json.stderr)).toMatchObject({ error: { code: backendEnv.S3_BUCKET ? 'INTEGRITY' : 'NETWORK' } });
      expect(json.stdout).toBe('');
    }, 60_000);

    it('promotes idempotently under retries, and maps refusals to exit codes 2, 3, 4 and 5 with the server\'s message and code', async () => {
      const src = join(work, 'idem-src');
      files(src, { 'm.bin': randomBytes(1000) });
      const v1 = await cliJson(['push', 'idem', join(src, 'm.bin'), '--type', 't', '--dataset', 'd1', '--metric', 'acc=0.9'], env, work);
      const v2 = await cliJson(['push', 'idem', join(src, 'm.bin'), '--type', 't', '--dataset', 'd2', '--metric', 'acc=0.5'], env, work);
      const promote = ['promote', 'idem@1', '--idempotency-key', 'deploy-run-42', '--reason', 'ci'];
      const runs = await Promise.all([1, 2, 3].map(() => runCli([...promote, '--json'], env)));
      runs.push(await runCli([...promote, '--json'], env));
      for (const r of runs) expect(r.code, r.stderr).toBe(0);
      const ids = new Set(runs.map((r) => (JSON.parse(r.stdout) as { id: string }).id));
      expect(ids.size).toBe(1);
      expect((await gql(`{ deploymentHistory(modelName: "idem") { totalCount } }`)).deploymentHistory.totalCount).toBe(1);

      const reused = await runCli(['promote', 'idem@2', '--idempotency-key', 'deploy-run-42'], env);
      expect(reused.code).toBe(3);
      expect(reused.stderr).toMatch(/deploy-run-42.*\(CONFLICT\)\n$/s);
      const policy = await runCli(['promote', 'idem@2', '--require-improvement', 'acc'], env);
      expect(policy.code).toBe(3);
      expect(policy.stderr).toMatch(/^error: Improvement policy not met: .*\(FAILED_PRECONDITION\)\n$/);
      const cas = await runCli(['promote', `idem@${v2.versionId}`, '--expect-current', v2.versionId], env);
      expect(cas.code).toBe(3);
      expect(cas.stderr).toContain('(CONFLICT)');

      const missing = await runCli(['pull', 'nobody@latest', join(work, 'none')], env);
      expect(missing.code).toBe(4);
      expect(missing.stderr).toMatch(/\(NOT_FOUND\)\n$/);
      const denied = await runCli(['models'], { ...env, REGISTRY_TOKEN: 'not-a-token' });
      expect(denied.code).toBe(5);
      expect(denied.stderr).toMatch(/\(UNAUTHENTICATED\)\n$/);
      const viewer = await cliJson(['token', 'create', 'reader', '--role', 'viewer'], env);
      expect(viewer.secret).toEqual(expect.any(String));
      const forbidden = await runCli(['promote', 'idem@2', '--token', viewer.secret], env);
      expect(forbidden.code).toBe(5);
      expect(forbidden.stderr).toMatch(/\(FORBIDDEN\)\n$/);
      const listed = await cliJson(['token', 'list'], env);
      expect(listed.tokens.map((t: { name: string }) => t.name)).toContain('reader');
      expect(JSON.stringify(listed)).not.toContain(viewer.secret);
      expect(await cliJson(['token', 'revoke', viewer.token.id], env)).toMatchObject({ id: viewer.token.id, active: false });

      for (const usage of [['promote', 'idem'], ['push', 'idem', join(src, 'm.bin'), '--type', 't'], ['push', 'idem', join(src, 'm.bin'), '--type', 't', '--dataset', 'd', '--metric', 'acc=high'], ['frobnicate']]) {
        const r = await runCli(usage, env, work);
        expect(r.code, usage.join(' ')).toBe(2);
        expect(r.stderr).not.toMatch(/\bat .*\.(ts|js):\d+/);
      }
      expect((await runCli(['--help'], env)).code).toBe(0);
    }, 120_000);

    it('verifies the audit log and tails it, following new events over the subscription', async () => {
      expect(await cliJson(['audit', 'verify'], env)).toMatchObject({ valid: true });
      const tail = await cliJson(['audit', 'tail', '-n', '5'], env);
      expect(tail.events).toHaveLength(5);
      const seqs = tail.events.map((e: { sequence: number }) => e.sequence);
      expect(seqs).toEqual([...seqs].sort((a, b) => a - b));

      // Follows one model: the last of its events (none yet), then each new one as it is committed.
      const follow = spawnCli(['audit', 'tail', '-n', '1', '--follow', '--json', '--model', 'followed'], env);
      await new Promise((r) => setTimeout(r, 1500));
      await gql(`mutation { updateModel(name: "idem", description: "not followed") { name } }`);
      const src = join(work, 'follow-src');
      files(src, { 'f.bin': randomBytes(100) });
      await cliJson(['push', 'followed', join(src, 'f.bin'), '--type', 't', '--dataset', 'd'], env, work);
      for (let i = 0; i < 100 && !follow.stdout().includes('MODEL_VERSION_READY'); i++) await new Promise((r) => setTimeout(r, 100));
      follow.child.kill('SIGINT');
      const ended = await follow.done;
      expect(ended.code, ended.stderr).toBe(0);
      const events = ended.stdout.trim().split('\n').map((l) => JSON.parse(l) as { action: string; modelName: string; sequence: number });
      expect(events.map((e) => e.action)).toContain('MODEL_VERSION_REGISTERED');
      expect(events.map((e) => e.action)).toContain('MODEL_VERSION_READY');
      expect(events.every((e) => e.modelName === 'followed')).toBe(true);
      const followed = events.map((e) => e.sequence);
      expect(followed).toEqual([...new Set(followed)].sort((a, b) => a - b));
    }, 60_000);
  });
}
