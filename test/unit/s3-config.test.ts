import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';

/** The S3 settings of src/config.ts (issue 18): validation and defaults. */
describe('S3 configuration', () => {
  const base = { S3_BUCKET: 'models' };

  it('refuses an S3_PUBLIC_ENDPOINT with a path, query or fragment, and accepts scheme, host and port', () => {
    for (const bad of ['http://storage.example.com:9000/models', 'https://storage.example.com/prefix/', 'https://storage.example.com/?x=1']) {
      expect(() => loadConfig({ ...base, S3_PUBLIC_ENDPOINT: bad }), bad).toThrow(/S3_PUBLIC_ENDPOINT: must be scheme, host and port only/);
    }
    expect(loadConfig({ ...base, S3_PUBLIC_ENDPOINT: 'https://storage.example.com:9000/' }).s3?.publicEndpoint).toBe('https://storage.example.com:9000/');
    expect(loadConfig({ ...base, S3_PUBLIC_ENDPOINT: 'https://storage.example.com' }).s3?.publicEndpoint).toBe('https://storage.example.com');
  });

  it('has timeouts, conditional uploads on and trusted store checksums off by default', () => {
    expect(loadConfig(base).s3).toMatchObject({
      timeouts: { connectMs: 5_000, idleMs: 60_000, pingMs: 5_000 },
      conditionalUploads: true,
      trustStoreChecksums: false,
    });
    const set = loadConfig({
      ...base,
      S3_CONNECT_TIMEOUT_MS: '1000',
      S3_SOCKET_TIMEOUT_MS: '120000',
      S3_PING_TIMEOUT_MS: '2000',
      S3_CONDITIONAL_UPLOADS: 'false',
      S3_TRUST_STORE_CHECKSUMS: 'true',
    }).s3;
    expect(set).toMatchObject({ timeouts: { connectMs: 1000, idleMs: 120_000, pingMs: 2000 }, conditionalUploads: false, trustStoreChecksums: true });
  });

  it('refuses the new S3 settings without S3_BUCKET, and a timeout that is not a number of milliseconds', () => {
    for (const name of ['S3_SOCKET_TIMEOUT_MS', 'S3_TRUST_STORE_CHECKSUMS']) {
      const value = name.endsWith('_MS') ? '1000' : 'true';
      expect(() => loadConfig({ [name]: value }), name).toThrow(new RegExp(`${name}: is set but S3_BUCKET is not`));
    }
    expect(() => loadConfig({ ...base, S3_SOCKET_TIMEOUT_MS: 'soon' })).toThrow(ConfigError);
    expect(() => loadConfig({ ...base, S3_TRUST_STORE_CHECKSUMS: 'yes' })).toThrow(/S3_TRUST_STORE_CHECKSUMS: must be true or false/);
  });
});
