import type { Command } from 'commander';
import type { RegistryClient } from '../client/index.js';
import { type Output, output } from './output.js';
import { type GlobalOptions, clientFrom } from './settings.js';

export interface Ctx {
  client: RegistryClient;
  out: Output;
  /** Aborts on SIGINT/SIGTERM (long-running commands stop cleanly). */
  signal: AbortSignal;
}

/** The CLI's version, for --version and the User-Agent. */
export const CLI_VERSION = '0.1.0';

/** Wraps a command's action: builds the client and the output from the global options. */
export function action<A extends unknown[]>(fn: (ctx: Ctx, ...args: A) => Promise<void>) {
  return async function (this: Command, ...args: unknown[]): Promise<void> {
    const globals = this.optsWithGlobals<GlobalOptions>();
    const controller = new AbortController();
    const abort = () => controller.abort();
    process.once('SIGINT', abort);
    process.once('SIGTERM', abort);
    try {
      await fn({ client: clientFrom(globals, CLI_VERSION), out: output(Boolean(globals.json)), signal: controller.signal }, ...(args as A));
    } finally {
      process.off('SIGINT', abort);
      process.off('SIGTERM', abort);
    }
  };
}

/** Collects a repeatable option's values. */
export const collect = (value: string, previous: string[] = []): string[] => [...previous, value];
