import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { storeEnv } from '../support/api-harness.js';
import { artifactBackends } from '../support/artifact-backends.js';
import { type ServerProcess, startServerProcess } from '../support/server-process.js';

/**
 * The Python client's own unittest suite (clients/python/tests), run once per artifact store
 * against a real registry process, with one vitest test per Python test: each passes only if its
 * Python test passed, a Python skip shows as a skip, and a test that did not run fails. The ids
 * are listed at collection time, so the counts are the Python suite's own.
 */
const testsDir = new URL('../../clients/python/tests/', import.meta.url).pathname;
const runner = join(testsDir, 'json_runner.py');
const pythonEnv = { ...process.env, PYTHONDONTWRITEBYTECODE: '1' };

function pythonVersion(): string | null {
  try {
    return execFileSync('python3', ['--version'], { encoding: 'utf8', env: pythonEnv }).trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

interface PythonOutcome {
  outcome: 'passed' | 'failed' | 'error' | 'skipped' | 'expected_failure' | 'unexpected_success';
  details: string;
}
interface PythonRun {
  tests: Record<string, PythonOutcome>;
  other: ({ id: string } & PythonOutcome)[];
  output: string;
}

/** Runs the whole Python suite once against `env`'s registry (asynchronously: s3rver runs in this process). */
function runPythonSuite(env: Record<string, string>): Promise<PythonRun> {
  const dir = mkdtempSync(join(tmpdir(), 'registry-pytest-'));
  const out = join(dir, 'results.json');
  return new Promise((resolve, reject) => {
    const child = spawn('python3', [runner, '--out', out], { cwd: testsDir, env: { ...pythonEnv, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    child.once('error', reject);
    child.once('exit', () => {
      try {
        resolve({ ...(JSON.parse(readFileSync(out, 'utf8')) as Omit<PythonRun, 'output'>), output });
      } catch {
        reject(new Error(`the Python suite wrote no results:\n${output}`));
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
}

const version = pythonVersion();
const ids: string[] = version ? JSON.parse(execFileSync('python3', [runner, '--list'], { encoding: 'utf8', env: pythonEnv, cwd: testsDir })) : [];

describe.each(artifactBackends('pyclient'))('Python client (%s) against a registry process', (_name, backend) => {
  if (!version) {
    it.skip('NOT RUN: python3 is not on the PATH, so the Python client tests cannot run', () => {});
    return;
  }
  let run: PythonRun;
  let server: ServerProcess | undefined;
  let close = async () => {};
  beforeAll(async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'registry-pyclient-'));
    const token = randomBytes(32).toString('base64url');
    const storage = storeEnv();
    const b = await backend();
    close = async () => {
      await server?.stop();
      await b.close();
      await storage.dispose();
      rmSync(dataDir, { recursive: true, force: true });
    };
    // Files past 3 MiB go up in 1 MiB parts (issue 16): tests/test_multipart.py, and the crash test's 4 MiB file.
    server = await startServerProcess({
      REGISTRY_DATA_DIR: dataDir, REGISTRY_ADMIN_TOKEN: token, REGISTRY_MULTIPART_THRESHOLD_BYTES: String(3 * 1024 * 1024), REGISTRY_MULTIPART_PART_BYTES: String(1024 * 1024),
      ...storage.env, ...b.env,
    });
    // The tamper test finds the stored file by its plaintext bytes: possible on s3rver, not in the
    // embedded store, which encrypts at rest (and never serves altered bytes: test/api/encryption-at-rest.test.ts).
    run = await runPythonSuite({ REGISTRY_URL: server.url, REGISTRY_TOKEN: token, ...(b.storageDir ? { REGISTRY_TEST_STORAGE_DIR: b.storageDir } : {}) });
  }, 300_000);
  afterAll(() => close());

  it('lists the same tests it runs, and no error outside a test', () => {
    expect(ids.length).toBeGreaterThan(0);
    expect(run.other, run.output).toEqual([]);
    expect(Object.keys(run.tests).sort()).toEqual([...ids].sort());
  });

  it.for(ids)('%s', (id, ctx) => {
    const result = run.tests[id];
    if (!result) throw new Error(`${id} did not run:\n${run.other.map((o) => `${o.id}: ${o.outcome} ${o.details}`).join('\n') || run.output}`);
    if (result.outcome === 'skipped') ctx.skip(`NOT RUN: ${result.details}`);
    expect(result.outcome, result.details).toBe('passed');
  });
});
