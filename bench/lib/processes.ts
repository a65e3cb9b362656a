import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cpus } from 'node:os';

export const ROOT = new URL('../../', import.meta.url).pathname.replace(/\/$/, '');

/** Clock ticks per second of /proc/<pid>/stat (USER_HZ), 100 on Linux unless getconf says otherwise. */
const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** A server the benchmark started in its own process. */
export interface ServerChild {
  name: string;
  /** Base URL, without a path. */
  url: string;
  child: ChildProcess;
  /** User + system CPU time of the process (all its threads), in ms; null where /proc is missing. */
  cpuMs(): number | null;
  /** Resident set size in MiB, or null. */
  rssMiB(): number | null;
  output(): string;
  stop(): Promise<void>;
}

function readStat(pid: number): string[] | null {
  try {
    const raw = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces; the fields after its closing ')' are fixed.
    return raw.slice(raw.lastIndexOf(')') + 2).split(' ');
  } catch {
    return null;
  }
}

/**
 * Spawns `node <args>` with exactly the environment `env` (plus NODE_ENV=production unless set) and
 * waits for a line matching `ready` (whose first group is the URL).
 * stdout and stderr are kept for error messages.
 */
export async function startChild(name: string, args: string[], env: Record<string, string>, ready: RegExp, timeoutMs = 60_000): Promise<ServerChild> {
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    // `env` is the whole environment (callers decide what of theirs to pass on).
    env: { NODE_ENV: 'production', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start within ${timeoutMs} ms:\n${output}`)), timeoutMs);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.length > 64 * 1024) output = output.slice(-32 * 1024);
      const m = ready.exec(output);
      if (m) {
        clearTimeout(timer);
        // From now on only the tail is kept (output()): a server with its access log on must not cost
        // the benchmark's own process a scan of every line.
        const keep = (more: Buffer) => {
          output += more.toString();
          if (output.length > 64 * 1024) output = output.slice(-32 * 1024);
        };
        child.stdout!.off('data', onData).on('data', keep);
        child.stderr!.off('data', onData).on('data', keep);
        resolve(m[1]!);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited (${code ?? signal}) before it was ready:\n${output}`));
    });
  });
  const pid = child.pid!;
  return {
    name,
    url,
    child,
    cpuMs() {
      // Fields after ')': state is [0], so utime (field 14) is [11] and stime (15) is [12].
      const f = readStat(pid);
      return f ? ((Number(f[11]) + Number(f[12])) * 1000) / CLK_TCK : null;
    },
    rssMiB() {
      const f = readStat(pid);
      return f ? (Number(f[21]) * 4096) / 1024 / 1024 : null;
    },
    output: () => output,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        const kill = setTimeout(() => child.kill('SIGKILL'), 15_000);
        child.once('exit', () => {
          clearTimeout(kill);
          resolve();
        });
        child.kill('SIGTERM');
      }),
  };
}

export const CPU_MEASURED = existsSync('/proc/self/stat');

/** Busy CPU time of the whole machine (all cores, ms) from /proc/stat; null where unavailable. */
export function machineBusyMs(): number | null {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!;
    const [user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number) as number[];
    return ((user! + nice! + system! + irq! + softirq! + steal!) * 1000) / CLK_TCK;
  } catch {
    return null;
  }
}

/** CPU time of this process (the load generator), ms. */
export function selfCpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/**
 * Measures how much of the machine something else used while `fn` ran: machine busy time minus the
 * server's and this process's CPU, as a share of all cores over the wall time. The benchmark
 * cannot stop other work on a shared machine, but it can say when it was there.
 */
export async function withBackground<T>(server: { cpuMs(): number | null } | null, fn: () => Promise<T>): Promise<{ value: T; backgroundPct: number | null }> {
  const m0 = machineBusyMs();
  const s0 = server?.cpuMs() ?? 0;
  const b0 = selfCpuMs();
  const w0 = Date.now();
  const value = await fn();
  const m1 = machineBusyMs();
  const s1 = server?.cpuMs() ?? 0;
  const b1 = selfCpuMs();
  const wall = Date.now() - w0;
  if (m0 === null || m1 === null || wall <= 0) return { value, backgroundPct: null };
  const other = m1 - m0 - (s1 - s0) - (b1 - b0);
  return { value, backgroundPct: Math.max(0, (100 * other) / (wall * CORES)) };
}

export const CORES = cpus().length;

/** How the registry server is run: the compiled build when it compiles, else src/main.ts through tsx. */
export interface RegistryLauncher {
  kind: 'built' | 'tsx';
  args: string[];
  note: string;
}

/**
 * Compiles src/ with tsconfig.build.json into bench/.build (not dist/, which belongs to `npm run
 * build`). tsc emits even with type errors; a build that produced no main.js falls back to tsx.
 */
export function prepareRegistryLauncher(forceTsx: boolean): RegistryLauncher {
  const tsxLauncher = (why: string): RegistryLauncher => ({ kind: 'tsx', args: ['--import', 'tsx', 'src/main.ts'], note: why });
  if (forceTsx) return tsxLauncher('src/main.ts through tsx (--tsx)');
  const outDir = join(ROOT, 'bench', '.build');
  const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  let problems = '';
  try {
    execFileSync(process.execPath, [tsc, '-p', 'tsconfig.build.json', '--outDir', outDir, '--tsBuildInfoFile', join(outDir, '.tsbuildinfo')], {
      cwd: ROOT,
      stdio: 'pipe',
      encoding: 'utf8',
    });
  } catch (err) {
    const e = err as { stdout?: string };
    problems = (e.stdout ?? String(err)).split('\n').filter((l) => l.includes('error')).slice(0, 3).join('; ');
  }
  if (!existsSync(join(outDir, 'main.js'))) return tsxLauncher(`src/main.ts through tsx (the build produced nothing: ${problems})`);
  const note = problems ? `compiled build (bench/.build/main.js); tsc reported errors, emitted anyway: ${problems}` : 'compiled build (bench/.build/main.js)';
  // As `npm start` runs it.
  return { kind: 'built', args: ['--enable-source-maps', join(outDir, 'main.js')], note };
}

export const REGISTRY_READY = /Model registry ready: GraphQL at (http:\/\/\S+)\/graphql/;
export const CEILING_READY = /Ceiling ready at (http:\/\/\S+)/;
