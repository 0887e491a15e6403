/**
 * Runs inside a scenario's namespaces (started by harness.ts with `unshare -m -n -p -f`): checks
 * that it really is isolated, brings loopback up, points the system resolver at the lab DNS
 * server, and keeps every process it starts so that all of them can be stopped.
 */
import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { NS } from './layout.ts';

/** Bound on a setup command (ip, mount). */
const SETUP_COMMAND_TIMEOUT_MS = 5000;
/** Time a process gets to exit after SIGTERM before SIGKILL. */
const STOP_GRACE_MS = 2000;
/** Output kept per child process (the tail is what a failure report needs). */
const OUTPUT_TAIL_CHARS = 4000;

/**
 * Throws unless this process is PID 1 of a fresh PID namespace with no network interface but
 * loopback: the bind mounts below must never touch the host's /etc/resolv.conf.
 */
export function assertIsolated(): void {
  if (process.pid !== 1) throw new Error(`not inside a fresh PID namespace (pid ${process.pid}); run through harness.ts (unshare -m -n -p -f)`);
  const names = Object.keys(networkInterfaces()).filter((n) => n !== 'lo');
  if (names.length > 0) throw new Error(`network namespace is not empty (interfaces: ${names.join(', ')}); refusing to touch resolver files`);
}

/**
 * Brings `lo` up and bind-mounts private copies of the resolver files over the system ones:
 * resolv.conf names the lab DNS server, hosts and nsswitch.conf keep lookups to files + DNS
 * (no nss-resolve, mDNS or nscd reaching the host's resolver). The mounts die with the namespace.
 */
export function prepareNamespace(dir: string): void {
  assertIsolated();
  const run = (cmd: string, args: string[]) => execFileSync(cmd, args, { timeout: SETUP_COMMAND_TIMEOUT_MS, stdio: ['ignore', 'ignore', 'pipe'] });
  run('ip', ['link', 'set', 'lo', 'up']);
  const files: Record<string, string> = {
    '/etc/resolv.conf': `nameserver ${NS.dnsHost}\noptions timeout:1 attempts:2\n`,
    '/etc/hosts': '127.0.0.1 localhost\n',
    '/etc/nsswitch.conf': 'hosts: files dns\n',
  };
  for (const [target, text] of Object.entries(files)) {
    const copy = join(dir, target.replaceAll('/', '_'));
    writeFileSync(copy, text);
    run('mount', ['--bind', copy, target]);
  }
  // glibc asks nscd before NSS when its socket exists: hide it behind an empty tmpfs.
  for (const nscd of ['/run/nscd', '/var/run/nscd']) if (existsSync(nscd)) run('mount', ['-t', 'tmpfs', 'tmpfs', nscd]);
}

/** A started process with the tail of its output. */
export interface Managed {
  name: string;
  child: ChildProcess;
  /** Last output (stdout and stderr interleaved). */
  output(): string;
  /** Resolves with the exit code (or signal) once it has exited. */
  exited: Promise<number | string>;
}

/** Every process this runner started; `stopAll` ends them (TERM, then KILL), newest first. */
export class ProcessGroup {
  readonly #procs: Managed[] = [];

  /** Starts `cmd` with `args`, capturing its output. */
  start(name: string, cmd: string, args: readonly string[], opts: { cwd?: string } = {}): Managed {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...(opts.cwd ? { cwd: opts.cwd } : {}) });
    let tail = '';
    const keep = (chunk: Buffer) => {
      tail = (tail + chunk.toString('utf8')).slice(-OUTPUT_TAIL_CHARS);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    const exited = new Promise<number | string>((resolve) => {
      child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown'));
      child.once('error', (err) => {
        tail += `\n${err.message}`;
        resolve('spawn-error');
      });
    });
    const managed: Managed = { name, child, output: () => tail, exited };
    this.#procs.push(managed);
    return managed;
  }

  /** Stops every process still running: SIGTERM, then SIGKILL after a grace period. */
  async stopAll(): Promise<void> {
    const running = this.#procs.splice(0).reverse();
    await Promise.all(running.map((p) => stop(p)));
  }
}

async function stop(p: Managed): Promise<void> {
  if (p.child.exitCode !== null || p.child.signalCode !== null || p.child.pid === undefined) return;
  p.child.kill('SIGTERM');
  const timer = setTimeout(() => p.child.kill('SIGKILL'), STOP_GRACE_MS);
  try {
    await p.exited;
  } finally {
    clearTimeout(timer);
  }
}
