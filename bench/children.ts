/**
 * Starting the benchmark's child processes: bundling them (so the measured processes run plain
 * `node` on one file, without a TypeScript loader in their CPU figures, as the Lambda does),
 * spawning them with the file-descriptor limit raised, and driving the lab child.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess, SpawnOptions } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import type { LabCommand, LabReply, LabSet, LabSetSpec, LabStats } from './common.ts';

/** The project root. */
export const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** Where the bundled children go (gitignored by bench/.gitignore). */
export const BUILD_DIR = join(ROOT, 'bench', '.build');
/** Where `--profile` writes .cpuprofile files (gitignored). */
export const PROFILE_DIR = join(ROOT, 'bench', 'profiles');

/** The bundled entry points, by name. */
export const CHILDREN = {
  lab: 'lab-child',
  engine: 'engine-child',
  peerClient: 'peer-client',
  lambdaInit: 'lambda-init',
  lambdaAdapters: 'lambda-adapters',
  aws: 'aws-child',
  lambdaCheck: 'lambda-check',
} as const;
export type ChildName = keyof typeof CHILDREN;

/** Path of a bundled child. */
export const childPath = (name: ChildName) => join(BUILD_DIR, `${CHILDREN[name]}.mjs`);

/** Longest a lab command may take (8,000 binds included) before the run gives up. */
const LAB_COMMAND_TIMEOUT_MS = 120_000;

/**
 * Bundles every child into bench/.build/ with source maps (the profile summary maps frames back
 * to src/core/*.ts through them). Not minified: profiles keep readable names.
 */
export async function bundleChildren(): Promise<void> {
  mkdirSync(BUILD_DIR, { recursive: true });
  await build({
    entryPoints: Object.values(CHILDREN).map((n) => join(ROOT, 'bench', `${n}.ts`)),
    outdir: BUILD_DIR,
    outExtension: { '.js': '.mjs' },
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    sourcemap: 'linked',
    // Some dependencies are CommonJS and call require(): give ESM output a require.
    banner: { js: "import { createRequire as __benchCreateRequire } from 'node:module'; const require = __benchCreateRequire(import.meta.url);" },
    logLevel: 'warning',
  });
}

/**
 * Spawns `node` on a bundled child with the soft descriptor limit raised to the hard one
 * (workload C holds 8,000 listeners plus 8,000 connections in the lab). Node cannot call
 * setrlimit itself, so a shell does it and then `exec`s node: same pid, nothing else in between.
 */
export function spawnNode(script: string, args: readonly string[], nodeFlags: readonly string[], opts: SpawnOptions): ChildProcess {
  return spawnRaised(process.execPath, [...nodeFlags, script, ...args], opts);
}

/** Spawns any program with the soft descriptor limit raised to the hard one (see {@link spawnNode}). */
export function spawnRaised(program: string, args: readonly string[], opts: SpawnOptions): ChildProcess {
  return spawn('/bin/sh', ['-c', 'ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "$0" "$@"', program, ...args], { cwd: ROOT, ...opts });
}

/** Runs a child to completion; resolves with its stdout, rejects on a non-zero exit or after `timeoutMs`. */
export function runToEnd(child: ChildProcess, what: string, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    child.stdout?.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr?.on('data', (c: Buffer) => (err += c.toString()));
    // Bounded: a child that hangs is killed, and the run reports it.
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(new Error(`${what} exited with ${code ?? signal}${signal === 'SIGKILL' ? ` (killed after ${timeoutMs} ms)` : ''}\n${err.slice(-3000)}`));
    });
  });
}

/** A lab command before it gets its id (Omit over a union would merge its members). */
type WithoutId<C> = C extends unknown ? Omit<C, 'id'> : never;
type LabCommandBody = WithoutId<LabCommand>;

/** The lab child, driven over IPC. */
export class LabClient {
  #next = 1;
  readonly #pending = new Map<number, { resolve: (r: LabReply) => void; reject: (e: Error) => void }>();

  private constructor(readonly child: ChildProcess) {
    child.on('message', (reply: LabReply) => {
      const p = this.#pending.get(reply.id);
      this.#pending.delete(reply.id);
      p?.resolve(reply);
    });
    child.once('exit', (code) => {
      for (const p of this.#pending.values()) p.reject(new Error(`lab child exited (${code})`));
      this.#pending.clear();
    });
  }

  /** Starts the lab process (it binds nothing until a set is started). */
  static start(): LabClient {
    return new LabClient(spawnNode(childPath('lab'), [], [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
  }

  /** Process id of the lab (its CPU is not the engine's). */
  get pid(): number | undefined {
    return this.child.pid;
  }

  #send(cmd: LabCommandBody): Promise<LabReply & { ok: true }> {
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new Error(`lab command ${cmd.cmd} timed out`));
      }, LAB_COMMAND_TIMEOUT_MS);
      this.#pending.set(id, {
        resolve: (r) => {
          clearTimeout(timer);
          if (r.ok) resolve(r);
          else reject(new Error(`lab ${cmd.cmd}: ${r.error}`));
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      this.child.send({ ...cmd, id } as LabCommand);
    });
  }

  /** Starts one set of ELB-like targets and its DNS server. */
  async startSet(spec: LabSetSpec): Promise<LabSet> {
    return (await this.#send({ cmd: 'start-set', spec })).set!;
  }

  /** Switches addresses of a set between serving and swallowing (accept, never answer). */
  async setMode(label: string, addresses: string[], mode: 'serve' | 'swallow'): Promise<void> {
    await this.#send({ cmd: 'set-mode', label, addresses, mode });
  }

  /** Stops a set: every listener and its DNS server. */
  async stopSet(label: string): Promise<void> {
    await this.#send({ cmd: 'stop-set', label });
  }

  /** Counters of every running set. */
  async stats(): Promise<LabStats> {
    return (await this.#send({ cmd: 'stats' })).stats!;
  }

  /** Ends the lab: closing the channel makes it stop its sets and exit. */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.disconnect();
    await exited;
  }
}
