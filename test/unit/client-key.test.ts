import { describe, expect, it } from 'vitest';
import { clientKey } from '../../src/http/connection-limits.js';

describe('connection limits: whom a connection counts against', () => {
  it('counts an IPv4 address (also IPv4-mapped) by itself', () => {
    expect(clientKey('127.0.0.1')).toBe('127.0.0.1');
    expect(clientKey('::ffff:10.1.2.3')).toBe('10.1.2.3');
  });
  it('counts IPv6 addresses by their /64, however they are written', () => {
    const key = clientKey('2001:db8:0:1::5');
    expect(clientKey('2001:db8:0:1:aaaa:bbbb:cccc:dddd')).toBe(key);
    expect(clientKey('2001:0DB8:0000:0001::ffff')).toBe(key);
    expect(clientKey('2001:db8:0:2::5')).not.toBe(key);
    expect(clientKey('2001:db8::')).toBe('2001:db8:0:0::/64');
  });
});
