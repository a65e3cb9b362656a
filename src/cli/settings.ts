import { RegistryClient } from '../client/index.js';

/** The options every command takes (commander's global options). */
export interface GlobalOptions {
  url?: string;
  token?: string;
  json?: boolean;
}

export const DEFAULT_URL = 'http://127.0.0.1:4000';

/**
 * The one reader of the CLI's environment: REGISTRY_URL and REGISTRY_TOKEN, each overridden by
 * its flag (--url, --token); and REGISTRY_DATA_DIR for the admin commands (dataDirFrom).
 */
export function clientFrom(opts: GlobalOptions, version: string): RegistryClient {
  const url = opts.url ?? process.env.REGISTRY_URL ?? DEFAULT_URL;
  const token = opts.token ?? process.env.REGISTRY_TOKEN;
  return new RegistryClient({ url, ...(token ? { token } : {}), userAgent: `model-registry-cli/${version}` });
}

/** The embedded registry's data directory for the admin commands: --data-dir, else REGISTRY_DATA_DIR, else ./data (as the server). */
export function dataDirFrom(flag: string | undefined): string {
  return flag ?? process.env.REGISTRY_DATA_DIR ?? './data';
}
