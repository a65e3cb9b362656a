import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generate } from '@graphql-codegen/cli';
import { describe, expect, it } from 'vitest';
import config, { CODEGEN_OUTPUT } from '../../codegen.js';

const root = new URL('../../', import.meta.url).pathname;

describe('the typed client documents', () => {
  it('are what `npm run codegen` generates from schema.graphql and src/client/operations/ (run it after changing either)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'registry-codegen-'));
    try {
      const target = join(dir, 'graphql.ts');
      const generates = config.generates as Record<string, object>;
      const cwd = process.cwd();
      process.chdir(root);
      try {
        await generate({ ...config, generates: { [target]: generates[CODEGEN_OUTPUT]! } }, true);
      } finally {
        process.chdir(cwd);
      }
      expect(readFileSync(join(root, CODEGEN_OUTPUT), 'utf8')).toBe(readFileSync(target, 'utf8'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
