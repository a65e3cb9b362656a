import { describe, expect, it } from 'vitest';
import { spawnCli } from '../support/cli.js';

describe('model-registry when its reader stops early (`… | head`)', () => {
  it('ends quietly with exit 0 instead of a stack trace for EPIPE', async () => {
    const run = spawnCli(['--help'], {});
    // The reading end closes before the help is written, as `head` does once it has its lines.
    run.child.stdout!.destroy();
    const { code, stderr } = await run.done;
    expect(stderr).not.toMatch(/EPIPE|Error/);
    expect(code).toBe(0);
  });
});
