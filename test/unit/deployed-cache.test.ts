import { describe, expect, it } from 'vitest';
import type { Deployed } from '../../src/services/hot-path/deployed-cache.js';
import { DeployedCache } from '../../src/services/hot-path/deployed-cache.js';

const deployed = (id: string) => ({ pointer: { versionId: id }, version: { id } }) as unknown as Deployed;

describe('DeployedCache', () => {
  it('serves an entry only under the stamp it was read under, and reloads when the stamp moves', async () => {
    let stamp = '1:0';
    let loads = 0;
    const cache = new DeployedCache(() => stamp);
    const load = async () => {
      loads++;
      return deployed(`v${loads}`);
    };
    expect((await cache.get('m', 'production', load))!.version.id).toBe('v1');
    expect((await cache.get('m', 'production', load))!.version.id).toBe('v1');
    expect(loads).toBe(1);
    stamp = '2:0';
    expect((await cache.get('m', 'production', load))!.version.id).toBe('v2');
    expect((await cache.get('m', 'staging', load))!.version.id).toBe('v3');
    expect(loads).toBe(3);
  });

  it('keeps a stamp taken before the reads: a write during them makes the next read load again', async () => {
    let stamp = 'a';
    let loads = 0;
    const cache = new DeployedCache(() => stamp);
    await cache.get('m', 'production', async () => {
      loads++;
      stamp = 'b'; // a commit lands while the pointer is read
      return deployed('old');
    });
    expect((await cache.get('m', 'production', async () => (loads++, deployed('new'))))!.version.id).toBe('new');
    expect(loads).toBe(2);
  });

  it('does not cache "no deployment", reads every time without a stamp, and stays within its size', async () => {
    let loads = 0;
    const none = new DeployedCache(() => 's');
    expect(await none.get('m', 'production', async () => (loads++, null))).toBeNull();
    expect(await none.get('m', 'production', async () => (loads++, null))).toBeNull();
    expect(loads).toBe(2);
    const unstamped = new DeployedCache(() => null);
    await unstamped.get('m', 'production', async () => (loads++, deployed('x')));
    await unstamped.get('m', 'production', async () => (loads++, deployed('x')));
    expect(loads).toBe(4);
    expect(unstamped.size).toBe(0);
    const small = new DeployedCache(() => 's', 3);
    for (let i = 0; i < 10; i++) await small.get(`m${i}`, 'production', async () => deployed(`v${i}`));
    expect(small.size).toBe(3);
    // The newest stay: m9 is a hit, m0 (evicted first) loads again.
    let again = 0;
    await small.get('m9', 'production', async () => (again++, deployed('v9')));
    await small.get('m0', 'production', async () => (again++, deployed('v0')));
    expect(again).toBe(1);
  });
});
