import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';
import { SecretBox, parseWebhookKey } from '../../src/events/webhooks/secret-box.js';
import { checkWebhookUrl, isBlockedAddress } from '../../src/events/webhooks/ssrf-guard.js';
import { retryDelayMs, webhookWants } from '../../src/events/webhooks/webhook-payload.js';
import { signatureHeader, verifySignature } from '../../src/events/webhooks/webhook-signature.js';

describe('webhooks: pure parts', () => {
  it.each([
    ['127.0.0.1', true], ['127.255.0.9', true], ['10.0.0.1', true], ['172.16.0.1', true], ['172.31.255.255', true], ['192.168.1.1', true],
    ['100.64.0.1', true], ['100.127.255.255', true], ['169.254.169.254', true], ['0.0.0.0', true], ['224.0.0.1', true], ['255.255.255.255', true],
    ['::', true], ['::1', true], ['fe80::1', true], ['fd12:3456::1', true], ['ff02::1', true],
    ['::ffff:127.0.0.1', true], ['::ffff:7f00:1', true], ['::ffff:10.0.0.1', true], ['::127.0.0.1', true], ['64:ff9b::10.0.0.1', true], ['2002:a00:1::1', true], ['::ffff:0:127.0.0.1', true], ['::ffff:0:a00:1', true], ['64:ff9b:1::a00:1', true],
    ['8.8.8.8', false], ['93.184.215.14', false], ['100.128.0.1', false], ['172.32.0.1', false], ['2606:4700:4700::1111', false], ['::ffff:8.8.8.8', false], ['::ffff:0:8.8.8.8', false],
  ])('%s blocked: %s', (ip, blocked) => {
    expect(isBlockedAddress(ip)).toBe(blocked);
  });

  it('accepts only http(s) URLs without credentials or fragments', () => {
    expect(checkWebhookUrl('u', 'https://hooks.example.com/x?y=1').href).toBe('https://hooks.example.com/x?y=1');
    for (const bad of ['ftp://a/x', 'file:///etc/passwd', 'gopher://a', 'http://u:p@a/', 'http://a/#f', 'nope', `https://a/${'x'.repeat(2048)}`]) {
      expect(() => checkWebhookUrl('u', bad), bad).toThrow(/^u: /);
    }
  });

  it('signs "<t>.<body>" and verifies it only within 5 minutes, with the same secret and body', () => {
    const at = new Date('2026-12-03T12:00:00Z');
    const header = signatureHeader('whsec_k', '{"a":1}', at);
    expect(header).toMatch(/^t=1796299200,v1=[0-9a-f]{64}$/);
    expect(verifySignature('whsec_k', header, '{"a":1}', new Date(at.getTime() + 299_000))).toBe(true);
    expect(verifySignature('whsec_k', header, '{"a":1}', new Date(at.getTime() + 301_000))).toBe(false);
    expect(verifySignature('whsec_k', header, '{"a":2}', at)).toBe(false);
    expect(verifySignature('whsec_other', header, '{"a":1}', at)).toBe(false);
    expect(verifySignature('whsec_k', 't=x,v1=zz', '{"a":1}', at)).toBe(false);
  });

  it('seals secrets with AES-256-GCM bound to the webhook id; a changed byte or another key does not open', () => {
    const key = randomBytes(32);
    const box = new SecretBox(key);
    const sealed = box.seal('whsec_secret', 'w1');
    expect(sealed).not.toContain('whsec_secret');
    expect(box.seal('whsec_secret', 'w1')).not.toBe(sealed);
    expect(box.open(sealed, 'w1')).toBe('whsec_secret');
    expect(() => box.open(sealed, 'w2')).toThrow(/does not open/);
    expect(() => new SecretBox(randomBytes(32)).open(sealed, 'w1')).toThrow(/does not open/);
    const tampered = sealed.slice(0, -2) + (sealed.endsWith('A') ? 'BA' : 'AA');
    expect(() => box.open(tampered, 'w1')).toThrow(/does not open/);
    expect(() => parseWebhookKey('abc', 'KEY')).toThrow(/64 hex/);
    expect(parseWebhookKey(`${key.toString('hex')}\n`, 'KEY')).toEqual(key);
  });

  it('backs off exponentially with jitter, from the minimum up to the maximum', () => {
    expect([1, 2, 3, 4].map((n) => retryDelayMs(n, 1000, 3_600_000, () => 1))).toEqual([1000, 2000, 4000, 8000]);
    expect([1, 2, 3, 4].map((n) => retryDelayMs(n, 1000, 3_600_000, () => 0))).toEqual([1000, 1000, 2000, 4000]);
    expect(retryDelayMs(40, 1000, 3_600_000, () => 1)).toBe(3_600_000);
    expect(retryDelayMs(400, 1000, 3_600_000, () => 0)).toBe(1_800_000);
  });

  it('filters by actions (none: all but API token events) and by model scope', () => {
    const e = (action: string, modelName: string | null) => ({ action, modelName });
    expect(webhookWants({ actions: [], modelScope: null }, e('MODEL_UPDATED', 'a'))).toBe(true);
    expect(webhookWants({ actions: [], modelScope: null }, e('API_TOKEN_CREATED', null))).toBe(false);
    expect(webhookWants({ actions: ['API_TOKEN_CREATED'], modelScope: null }, e('API_TOKEN_CREATED', null))).toBe(true);
    expect(webhookWants({ actions: [], modelScope: 'iris*' }, e('MODEL_UPDATED', 'iris-v2'))).toBe(true);
    expect(webhookWants({ actions: [], modelScope: 'iris*' }, e('MODEL_UPDATED', 'other'))).toBe(false);
    expect(webhookWants({ actions: [], modelScope: 'iris' }, e('WEBHOOK_CREATED', null))).toBe(false);
  });

  it('validates the webhook settings at start, naming the variable', () => {
    const c = loadConfig({});
    expect(c.webhooks).toMatchObject({ key: null, keyFile: null, allowPrivate: false, delivery: true, timeoutMs: 10_000, retryMinMs: 1000, retryMaxMs: 3_600_000, giveUpAfterMs: 86_400_000 });
    for (const [env, name] of [
      [{ REGISTRY_WEBHOOK_KEY: 'short' }, 'REGISTRY_WEBHOOK_KEY'],
      [{ REGISTRY_WEBHOOK_KEY: 'a'.repeat(64), REGISTRY_WEBHOOK_KEY_FILE: '/k' }, 'REGISTRY_WEBHOOK_KEY'],
      [{ REGISTRY_WEBHOOK_LEASE_MS: '5000', REGISTRY_WEBHOOK_TIMEOUT_MS: '5000' }, 'REGISTRY_WEBHOOK_LEASE_MS'],
      [{ REGISTRY_WEBHOOK_RETRY_MIN_MS: '5000', REGISTRY_WEBHOOK_RETRY_MAX_MS: '1000' }, 'REGISTRY_WEBHOOK_RETRY_MIN_MS'],
      [{ REGISTRY_WEBHOOK_ALLOW_PRIVATE: 'yes' }, 'REGISTRY_WEBHOOK_ALLOW_PRIVATE'],
    ] as const) {
      expect(() => loadConfig(env), name).toThrow(ConfigError);
      expect(() => loadConfig(env)).toThrow(new RegExp(name));
    }
  });
});
