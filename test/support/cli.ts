import { type ChildProcess, spawn } from 'node:child_process';
import { builtEntry } from './built.js';

const root = new URL('../../', import.meta.url).pathname;

export interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * Starts the `model-registry` CLI (src/cli/main.ts, compiled once per run: see built.ts) as its own process, as a user
 * runs it: settings from REGISTRY_URL / REGISTRY_TOKEN, stdout and stderr pipes (not a TTY).
 */
export function spawnCli(args: string[], env: Record<string, string>, cwd = root): { child: ChildProcess; done: Promise<CliRun>; stdout(): string } {
  const child = spawn(process.execPath, [builtEntry('cli/main'), ...args], {
    cwd,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  const done = new Promise<CliRun>((resolve) => child.once('close', (code, signal) => resolve({ code, signal, stdout, stderr })));
  return { child, done, stdout: () => stdout };
}

export const runCli = (args: string[], env: Record<string, string>, cwd?: string): Promise<CliRun> => spawnCli(args, env, cwd).done;

/** Runs the CLI with --json, expects exit 0 and returns the parsed document. */
export async function cliJson<T = any>(args: string[], env: Record<string, string>, cwd?: string): Promise<T> {
  const r = await runCli([...args, '--json'], env, cwd);
  if (r.code !== 0) throw new Error(`model-registry ${args.join(' ')} exited ${r.code}:\n${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}
