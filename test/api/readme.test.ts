import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

/** The README's walk-through, pasted into bash as a newcomer would (it listens on port 4000). */
describe('README walk-through', () => {
  it('runs from start to end with the documented answers', () => {
    // The walk-through is about the embedded default: no MongoDB or S3 settings leak into it.
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(MONGODB_|S3_|REGISTRY_|PORT$|HOST$)/.test(k)));
    const run = spawnSync('bash', ['scripts/readme-walkthrough.sh'], { cwd: new URL('../../', import.meta.url).pathname, env, encoding: 'utf8', timeout: 240_000 });
    const out = `${run.stdout}\n${run.stderr}`;
    expect(run.status, out.slice(-3000)).toBe(0);
    expect(out).toContain('downloaded bytes match');
    expect(out).toContain('"code": "FAILED_PRECONDITION"');
    expect(out).toMatch(/"valid": true,\s+"eventsChecked": 8/);
    expect(out).toContain('walk-through finished');
  }, 300_000);
});
