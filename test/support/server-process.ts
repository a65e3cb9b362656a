import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { storeEnv } from './api-harness.js';
import { builtEntry } from './built.js';

export interface ServerProcess {
  url: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

const root = new URL('../../', import.meta.url).pathname;

/**
 * Starts the registry (src/main.ts, compiled once per run: see built.ts) in its own Node process
 * and waits for its ready line.
 * `fileLimit` lowers the process's open-file limit (soft and hard, as `ulimit -n` does).
 */
export async function startServerProcess(env: Record<string, string>, opts: { fileLimit?: number } = {}): Promise<ServerProcess> {
  const args = [builtEntry('main')];
  const [command, argv] = opts.fileLimit ? ['/bin/sh', ['-c', `ulimit -n ${opts.fileLimit} && exec "$0" "$@"`, process.execPath, ...args]] : [process.execPath, args];
  const child = spawn(command, argv, {
    cwd: root,
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${output}`)), 30_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const m = /GraphQL at (http:\/\/[^\s]+)\/graphql/.exec(output);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code}:\n${output}`));
    });
  });
  return {
    url,
    child,
    stop: () =>
      new Promise((resolve) => {
        // A process killed by a signal has signalCode set and exitCode still null.
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

export interface GqlBody {
  data: any;
  errors?: { message: string; extensions: { code: string } }[];
}

export interface TwoServerProcesses {
  /** The admin secret both processes take (REGISTRY_ADMIN_TOKEN). */
  readonly token: string;
  /** Process `i % 2`. */
  server(i: number): ServerProcess;
  /** One GraphQL request to process `i % 2`, as `secret` (the admin by default). */
  gql(i: number, query: string, variables?: unknown, secret?: string): Promise<GqlBody>;
}

/**
 * Two registry processes on one store (a SQLite file, or a fresh MongoDB database when
 * MONGODB_URI is set), started before the tests of the describe block it is called in and
 * stopped after them. `beforeStop` runs first (e.g. closing clients).
 */
export function twoServerProcesses(prefix: string, extraEnv: Record<string, string> = {}, beforeStop: () => Promise<void> = async () => {}): TwoServerProcesses {
  const storage = storeEnv();
  const token = randomBytes(32).toString('base64url');
  let servers: ServerProcess[] = [];
  let dataDir = '';
  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), `registry-${prefix}-`));
    const env = { REGISTRY_DATA_DIR: dataDir, REGISTRY_ADMIN_TOKEN: token, ...extraEnv, ...storage.env };
    servers = await Promise.all([startServerProcess(env), startServerProcess(env)]);
  }, 60_000);
  afterAll(async () => {
    await beforeStop();
    await Promise.all(servers.map((s) => s.stop()));
    await storage.dispose();
    rmSync(dataDir, { recursive: true, force: true });
  });
  return {
    token,
    server: (i) => servers[i % 2]!,
    async gql(i, query, variables, secret = token) {
      const res = await fetch(`${servers[i % 2]!.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${secret}` },
        body: JSON.stringify({ query, variables }),
      });
      return (await res.json()) as GqlBody;
    },
  };
}
