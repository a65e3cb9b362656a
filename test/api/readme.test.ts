import { spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';

/** The README's walk-through, pasted into bash as a newcomer would (on a free port, beside anything on 4000). */
describe('README walk-through', () => {
  it('runs from start to end with the documented answers', () => {
    // The walk-through is about the embedded default: no MongoDB or S3 settings leak into it.
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(MONGODB_|S3_|REGISTRY_|PORT$|HOST$)/.test(k)));
    const run = spawnSync('bash', ['scripts/readme-walkthrough.sh'], { cwd: new URL('../../', import.meta.url).pathname, env, encoding: 'utf8', timeout: 330_000 });
    const out = `${run.stdout}\n${run.stderr}`;
    expect(run.status, out.slice(-3000)).toBe(0);
    expect(out).toContain('downloaded bytes match');
    expect(out).toContain('"code": "FAILED_PRECONDITION"');
    expect(out).toMatch(/"valid": true,\s+"eventsChecked": 8/);
    // Step 14: the Python client's training script and worker.
    expect(out).toMatch(/pushed churn version 3 \(v\d{14}_[0-9a-f]{8}\): READY/);
    expect(out).toContain('production is now version 3');
    expect(out).toContain("pulled version 3: ['model.pkl']");
    expect(out).toContain('walk-through finished');
  }, 360_000);

  it('gives up at once with the log when the registry cannot listen (port taken), instead of waiting in silence', async () => {
    const busy = createServer(() => {});
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    const port = String((busy.address() as AddressInfo).port);
    try {
      const env = { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(MONGODB_|S3_|REGISTRY_|HOST$)/.test(k))), PORT: port };
      const run = spawnSync('bash', ['scripts/readme-walkthrough.sh'], { cwd: new URL('../../', import.meta.url).pathname, env, encoding: 'utf8', timeout: 120_000 });
      const out = `${run.stdout}\n${run.stderr}`;
      expect(run.status, out.slice(-2000)).not.toBe(0);
      expect(out).toContain(`the registry did not start on http://127.0.0.1:${port}; the end of its log:`);
      expect(out).toMatch(/EADDRINUSE/);
      // It stopped waiting because the registry had exited, not because the 3 minutes were up (a time
      // limit here failed on a loaded CI machine, where the build alone took most of a minute).
      expect(out).toContain('the registry exited');
    } finally {
      busy.close();
    }
  }, 150_000);
});
