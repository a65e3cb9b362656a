import { lookup as dnsLookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';
import { InvalidArgumentError } from '../../domain/errors.js';
import { WEBHOOK_LIMITS } from '../../domain/webhook.js';

/**
 * Where webhooks may not go (SSRF): loopback, link-local, private, shared (CGNAT), unspecified,
 * multicast, reserved and documentation ranges, in IPv4 and IPv6, and IPv6 forms that carry an
 * IPv4 address (mapped, compatible, NAT64, 6to4), judged by that address.
 */
const BLOCKED = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12], ['192.0.0.0', 24],
  ['192.0.2.0', 24], ['192.88.99.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15], ['198.51.100.0', 24], ['203.0.113.0', 24], ['224.0.0.0', 4], ['240.0.0.0', 4],
] as const) BLOCKED.addSubnet(net, prefix, 'ipv4');
for (const [net, prefix] of [
  ['::', 128], ['::1', 128], ['64:ff9b:1::', 48], ['fc00::', 7], ['fe80::', 10], ['fec0::', 10], ['ff00::', 8], ['2001:db8::', 32], ['100::', 64], ['2001::', 23],
] as const) BLOCKED.addSubnet(net, prefix, 'ipv6');

/** The IPv4 address an IPv6 address carries, if it is of a form that carries one. */
function embeddedIpv4(ip: string): string | null {
  const words = expandIpv6(ip);
  if (!words) return null;
  const v4 = (hi: number, lo: number) => `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
  const zero = (from: number, to: number) => words.slice(from, to).every((w) => w === 0);
  if (zero(0, 5) && words[5] === 0xffff) return v4(words[6]!, words[7]!); // ::ffff:a.b.c.d (mapped)
  if (zero(0, 4) && words[4] === 0xffff && words[5] === 0) return v4(words[6]!, words[7]!); // ::ffff:0:a.b.c.d (translated, RFC 2765)
  if (zero(0, 6)) return v4(words[6]!, words[7]!); // ::a.b.c.d (compatible, deprecated)
  if (words[0] === 0x64 && words[1] === 0xff9b && zero(2, 6)) return v4(words[6]!, words[7]!); // 64:ff9b::/96 (NAT64)
  if (words[0] === 0x2002) return v4(words[1]!, words[2]!); // 2002::/16 (6to4)
  return null;
}

function expandIpv6(ip: string): number[] | null {
  let text = ip.toLowerCase().split('%')[0]!;
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const o = dotted[1]!.split('.').map(Number);
    text = text.slice(0, -dotted[1]!.length) + `${((o[0]! << 8) | o[1]!).toString(16)}:${((o[2]! << 8) | o[3]!).toString(16)}`;
  }
  const [head, tail] = text.includes('::') ? text.split('::') as [string, string] : [text, null];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const fill = tail === null ? [] : Array.from({ length: 8 - h.length - t.length }, () => '0');
  const all = [...h, ...fill, ...t];
  if (all.length !== 8) return null;
  return all.map((w) => parseInt(w || '0', 16));
}

/** True if `ip` (a literal IPv4 or IPv6 address) is one webhooks may not reach by default. */
export function isBlockedAddress(ip: string): boolean {
  const family = isIP(ip);
  if (family === 4) return BLOCKED.check(ip, 'ipv4');
  if (family !== 6) return true;
  const v4 = embeddedIpv4(ip);
  if (v4 !== null && (isIP(v4) !== 4 || BLOCKED.check(v4, 'ipv4'))) return true;
  return BLOCKED.check(ip.split('%')[0]!, 'ipv6');
}

/** A webhook URL as a client sends it: http(s), no credentials, no fragment, bounded. Throws InvalidArgumentError. */
export function checkWebhookUrl(field: string, text: string): URL {
  if (text.length > WEBHOOK_LIMITS.urlChars) throw new InvalidArgumentError(field, `at most ${WEBHOOK_LIMITS.urlChars} characters`);
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new InvalidArgumentError(field, 'must be an absolute http:// or https:// URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new InvalidArgumentError(field, 'must be an http:// or https:// URL');
  if (url.username || url.password) throw new InvalidArgumentError(field, 'must not carry a user name or password (receivers check the signature instead)');
  if (url.hash) throw new InvalidArgumentError(field, 'must not have a #fragment');
  return url;
}

/** The URL's host as a bare name or address (IPv6 without brackets). */
export function hostOf(url: URL): string {
  return url.hostname.replace(/^\[|\]$/g, '');
}

export class BlockedTargetError extends Error {
  readonly code = 'WEBHOOK_TARGET_BLOCKED';
}

/**
 * The addresses to connect to for `host`: resolved here (the connection then goes to a checked
 * address, never to a second lookup, so DNS rebinding cannot swap in a private one), blocked ones
 * left out unless `allowPrivate`. Throws BlockedTargetError when nothing is left.
 */
export async function resolveAllowed(host: string, allowPrivate: boolean): Promise<{ address: string; family: 4 | 6 }[]> {
  const literal = isIP(host);
  const found = literal ? [{ address: host, family: literal as 4 | 6 }] : (await dnsLookup(host, { all: true, verbatim: true })).map((a) => ({ address: a.address, family: a.family as 4 | 6 }));
  const allowed = allowPrivate ? found : found.filter((a) => !isBlockedAddress(a.address));
  if (allowed.length === 0) {
    throw new BlockedTargetError(`${host} resolves only to loopback, link-local or private addresses, which webhooks may not reach (REGISTRY_WEBHOOK_ALLOW_PRIVATE=true allows them)`);
  }
  return allowed;
}

/** resolveAllowed, bounded: a resolver that does not answer within `ms` fails with code ETIMEOUT. */
export async function resolveAllowedWithin(host: string, allowPrivate: boolean, ms: number): Promise<{ address: string; family: 4 | 6 }[]> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(Object.assign(new Error(`no DNS answer for ${host} within ${ms} ms`), { code: 'ETIMEOUT' })), ms);
  });
  try {
    return await Promise.race([resolveAllowed(host, allowPrivate), late]);
  } finally {
    clearTimeout(timer);
  }
}
