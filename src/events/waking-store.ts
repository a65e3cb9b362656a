import type { RegistryStore } from '../stores/registry.store.js';

/** The store methods that append to the audit log. */
const APPENDING: ReadonlySet<string> = new Set([
  'registerVersion', 'updateModel', 'transitionVersion', 'updateVersionMetadata', 'moveDeploymentPointer',
  'recordRefusedDeployment', 'appendAudit', 'createApiToken', 'revokeApiToken', 'createWebhook', 'updateWebhook', 'deleteWebhook',
  'setLegalHold', 'markVersionPurged',
]);

/**
 * The store as the services use it: after each write that appends to the audit log, `wake` is
 * called, so this process's subscribers get the event at once instead of at the next poll.
 */
export function wakingStore(store: RegistryStore, wake: () => void): RegistryStore {
  return new Proxy(store, {
    get(target, key, receiver) {
      const value: unknown = Reflect.get(target, key, receiver);
      if (typeof key !== 'string' || !APPENDING.has(key) || typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        const result = (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
        return result.finally(wake);
      };
    },
  });
}
