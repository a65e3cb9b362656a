import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';

export interface Received {
  path: string;
  method: string;
  status: number;
  start: number;
  end: number;
  /** Requests to the same path in flight when this one arrived (itself included). */
  concurrent: number;
  body: string;
  eventId: string | null;
  signature: string | null;
}

export interface Receiver {
  port: number;
  url(path: string): string;
  /** Every request answered so far, by this and earlier receiver processes on the same log. */
  received(path?: string): Received[];
  control(c: { status?: number; failFirst?: number; delayMs?: number }): Promise<void>;
  /** Requests being answered right now. */
  inFlight(): Promise<number>;
  /** SIGKILL: the port refuses connections until started again. */
  kill(): Promise<void>;
  stop(): Promise<void>;
}

const root = new URL('../../', import.meta.url).pathname;

/** Starts webhook-receiver-main.ts in its own process on 127.0.0.1 (`port` 0: any). */
export async function startReceiver(log: string, port = 0): Promise<Receiver> {
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', 'test/support/webhook-receiver-main.ts'], {
    cwd: root, env: { ...process.env, RECEIVER_LOG: log, RECEIVER_PORT: String(port) }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const bound = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`receiver did not start:\n${output}`)), 20_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const m = /receiver listening on (\d+)/.exec(output);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`receiver exited with ${code}:\n${output}`)));
  });
  const exited = () => child.exitCode !== null || child.signalCode !== null;
  const end = (signal: NodeJS.Signals) => new Promise<void>((resolve) => {
    if (exited()) return resolve();
    child.once('exit', () => resolve());
    child.kill(signal);
  });
  return {
    port: bound,
    url: (path) => `http://127.0.0.1:${bound}${path}`,
    received: (path) => {
      if (!existsSync(log)) return [];
      const all = readFileSync(log, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Received);
      return path === undefined ? all : all.filter((r) => r.path === path);
    },
    control: async (c) => {
      const res = await fetch(`http://127.0.0.1:${bound}/_control`, { method: 'POST', body: JSON.stringify(c) });
      await res.text();
    },
    inFlight: async () => Number(await (await fetch(`http://127.0.0.1:${bound}/_inflight`)).text()),
    kill: () => end('SIGKILL'),
    stop: () => end('SIGTERM'),
  };
}

/** Polls `check` until it returns a value other than undefined, or fails after `ms`. */
export async function eventually<T>(check: () => T | undefined | Promise<T | undefined>, ms = 30_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * With MongoDB the registry makes no webhook key of its own (replicas must share one): tests then
 * give every process the same one. With SQLite the key file beside the data is used.
 */
export function webhookKeyEnv(): Record<string, string> {
  return process.env.MONGODB_URI ? { REGISTRY_WEBHOOK_KEY: 'ab'.repeat(32) } : {};
}
