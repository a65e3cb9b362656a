import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ServerProcess, startServerProcess } from '../support/server-process.js';

const root = new URL('../../', import.meta.url).pathname;

/** The fenced blocks of one language in a README section (from its heading to the next `## `). */
function blocks(readme: string, heading: string, lang: string): string[] {
  const start = readme.indexOf(`\n${heading}\n`);
  if (start < 0) throw new Error(`README has no section ${heading}`);
  const end = readme.indexOf('\n## ', start + heading.length + 2);
  const section = readme.slice(start, end < 0 ? undefined : end);
  return [...section.matchAll(new RegExp('```' + lang + '\\n([\\s\\S]*?)```', 'g'))].map((m) => m[1]!);
}

/**
 * The README's CLI and TypeScript client sections, pasted as a newcomer would: in a fresh copy of
 * the committed tree (node_modules linked, as after `npm ci`), built with `npm run build`, so that
 * `npx model-registry` and `import … from 'model-registry/client'` resolve as documented.
 */
describe('README: the model-registry command and the TypeScript client', () => {
  const token = randomBytes(32).toString('base64url');
  let server: ServerProcess;
  let dataDir: string;
  let clone: string;
  let env: Record<string, string>;
  const readme = readFileSync(join(root, 'README.md'), 'utf8');

  beforeAll(async () => {
    clone = mkdtempSync(join(tmpdir(), 'registry-readme-cli-'));
    execFileSync('bash', ['-c', `git -C "${root}" archive HEAD | tar -x -C "${clone}"`]);
    copyFileSync(join(root, 'README.md'), join(clone, 'README.md'));
    symlinkSync(join(root, 'node_modules'), join(clone, 'node_modules'));
    execFileSync('npm', ['run', '--silent', 'build'], { cwd: clone, stdio: 'pipe' });
    dataDir = mkdtempSync(join(tmpdir(), 'registry-readme-cli-data-'));
    server = await startServerProcess({ REGISTRY_DATA_DIR: dataDir, REGISTRY_ADMIN_TOKEN: token });
    const inherited = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(MONGODB_|S3_|REGISTRY_)/.test(k))) as Record<string, string>;
    env = { ...inherited, REGISTRY_URL: server.url, REGISTRY_TOKEN: token };
  }, 240_000);
  afterAll(async () => {
    await server?.stop();
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(clone, { recursive: true, force: true });
  });

  it('runs the CLI section\'s commands, with the documented exit code for a missing version', () => {
    // Every block but the one-time install (npm ci would replace the linked node_modules).
    const script = blocks(readme, '## Command line: `model-registry`', 'sh').filter((b) => !b.includes('npm ci')).join('\n');
    expect(script).toContain('npx model-registry push churn');
    const run = spawnSync('bash', ['-euo', 'pipefail', '-c', `npx model-registry --help >/dev/null\n${script}`], { cwd: clone, env, encoding: 'utf8', timeout: 200_000 });
    const out = `${run.stdout}\n${run.stderr}`;
    expect(run.status, out.slice(-3000)).toBe(0);
    expect(out).toMatch(/churn version 1 v\d{14}_[0-9a-f]{8} READY/);
    expect(out).toMatch(/production of churn now runs version 2 .*\(was 1 /);
    expect(out).toMatch(/weights\.bin \(1\.0 MiB, sha256 [0-9a-f]{12}… verified\)\nweights\.bin\n/); // pull, then ls of the pulled directory
    expect(out).toMatch(/audit log valid: \d+ events/);
    expect(run.stdout).toMatch(/^exit code 4$/m);
    expect(run.stderr).toMatch(/^error: Model "churn" has no version 99 \(NOT_FOUND\)$/m); // the registry's message and code
  }, 240_000);

  it('runs the TypeScript example against model-registry/client', () => {
    const [example] = blocks(readme, '## TypeScript client: `model-registry/client`', 'ts');
    expect(example).toContain("from 'model-registry/client'");
    writeFileSync(join(clone, 'example.ts'), example!);
    const run = spawnSync('npx', ['tsx', 'example.ts'], { cwd: clone, env, encoding: 'utf8', timeout: 120_000 });
    const out = `${run.stdout}\n${run.stderr}`;
    expect(run.status, out.slice(-3000)).toBe(0);
    expect(out).toMatch(/pushed fraud 1 \(v\d{14}_[0-9a-f]{8}\), READY/);
    expect(out).toContain('production now runs 1');
    expect(out).toContain("production: 1 [ 'model.onnx' ]");
    expect(out).toMatch(/pulled \[ '.*\/serving\/model\.onnx' \]/);
    expect(out).toContain('production of fraud is version 1 (subscription)');
  }, 180_000);
});
