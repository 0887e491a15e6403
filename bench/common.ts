/**
 * Shared pieces of the benchmark: workload shapes, the messages between the orchestrator
 * (bench/run.ts) and its child processes, and small measurement helpers.
 *
 * Three kinds of process take part, so that each one's CPU and memory are its own:
 * the lab (DNS server + HTTP listeners, bench/lab-child.ts), the measured engine
 * (bench/engine-child.ts, a fresh process per measurement) and the peer's client
 * (bench/peer-client.ts). The orchestrator only starts them and collects figures.
 */
import { readFileSync } from 'node:fs';

/** Port the lab nodes of one set share (0: the first node picks one, the rest reuse it). */
export const ANY_PORT = 0;

/** Last octets used per /24 (1-250): never .0 or .255, which look like network/broadcast. */
export const HOSTS_PER_OCTET = 250;

/** DNS TTL of the lab's ELB-like names (seconds), AWS's value. */
export const ELB_TTL_SECONDS = 60;

/** Probe path the lab nodes answer `ok` on. */
export const HEALTH_PATH = '/health';

/** One set of ELB-like targets in the lab: `targets` names of `addressesPerTarget` addresses. */
export interface LabSetSpec {
  /** Short label, also part of the DNS names (`bench-a-007.elb.lab.test`). */
  label: string;
  /** Second octet of the addresses: the set lives in 127.<octet>.0.0/16. */
  octet: number;
  targets: number;
  addressesPerTarget: number;
}

/** One ELB-like target of a started set. */
export interface LabTarget {
  name: string;
  host: string;
  port: number;
  addresses: string[];
}

/** A started lab set: where its DNS server listens and what it serves. */
export interface LabSet {
  label: string;
  dns: string;
  port: number;
  targets: LabTarget[];
}

/** Orchestrator -> lab child. */
export type LabCommand =
  | { id: number; cmd: 'start-set'; spec: LabSetSpec }
  | { id: number; cmd: 'set-mode'; label: string; addresses: string[]; mode: 'serve' | 'swallow' }
  | { id: number; cmd: 'stop-set'; label: string }
  | { id: number; cmd: 'stats' };

/** Lab child -> orchestrator: the answer to command `id`. */
export type LabReply = { id: number; ok: true; set?: LabSet; stats?: LabStats } | { id: number; ok: false; error: string };

/** What the lab saw (sanity: did the probes really reach it?). */
export interface LabStats {
  dnsQueries: number;
  requests: number;
  accepted: number;
  openListeners: number;
}

/** The address of item `index` of a set: 127.<octet>.<1 + index / 250>.<1 + index % 250>. */
export function addressOf(octet: number, index: number): string {
  return `127.${octet}.${1 + Math.floor(index / HOSTS_PER_OCTET)}.${1 + (index % HOSTS_PER_OCTET)}`;
}

/** The DNS name of target `i` of a set. */
export function hostOf(label: string, i: number): string {
  return `bench-${label.toLowerCase()}-${String(i).padStart(4, '0')}.elb.lab.test`;
}

/** Figures of one measured check (engine child -> orchestrator). */
export interface CheckFigures {
  wallMs: number;
  /**
   * Where the wall time went, from the store calls and the report: load state, resolve (the
   * slowest lookup), probe + assess + alerts (up to the first save), save (first to last), rest.
   */
  phasesMs: { load: number; resolve: number; probeAssess: number; save: number; rest: number };
  /** User + system CPU of the whole engine process during the check (all threads). */
  cpuMs: number;
  cpuUserMs: number;
  cpuSystemMs: number;
  /** Highest RSS sampled during the check. */
  peakRssMb: number;
  /** RSS just before the check. */
  rssBeforeMb: number;
  /** Event-loop delay during the check (monitorEventLoopDelay). */
  eventLoopDelayMs: { p50: number; p99: number; max: number };
  /** The engine's own `durationMs` of the report. */
  reportedMs: number;
  probes: number;
  probesOk: number;
  /** Failed probes by error code. */
  failures: Record<string, number>;
  findings: number;
  errors: string[];
}

/** Everything one engine child reports. */
export interface EngineRun {
  /** First check in a fresh process: no saved state, code not yet optimised. */
  cold: CheckFigures;
  /** Second check: state from the first (a fresh process with saved state: a CLI run, a Lambda's second invocation). */
  warm: CheckFigures;
  /** Fifth check: code optimised too, as in a Lambda container or a `watch` that has run a while. */
  steady: CheckFigures;
  /** RSS after imports, before any check. */
  baselineRssMb: number;
  /** getrusage maxrss of the process at exit (covers every check). */
  maxRssMb: number;
}

/** Module name in the blackbox_exporter config the peer writes. */
export const PEER_MODULE = 'http_2xx';

/** One round of the peer's client (client -> orchestrator). */
export interface PeerRound {
  wallMs: number;
  /** This client process's CPU during the round. */
  clientCpuMs: number;
  ok: number;
  failed: number;
  firstError?: string;
}

/** Prefix of the one result line an engine or init child prints on stdout. */
export const RESULT_PREFIX = 'BENCH-RESULT ';

/** Parses the result line a child printed. */
export function parseResult<T>(stdout: string, what: string): T {
  const line = stdout.split('\n').find((l) => l.startsWith(RESULT_PREFIX));
  if (!line) throw new Error(`${what}: no result line in its output:\n${stdout.slice(-2000)}`);
  return JSON.parse(line.slice(RESULT_PREFIX.length)) as T;
}

/** Bytes -> MiB, the unit of Lambda's memory setting ("128 MB" is 128 MiB). */
export const mb = (bytes: number) => round(bytes / 1024 / 1024, 1);

/** Rounds to `digits` decimals. */
export function round(x: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** Median of a non-empty list. */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Index of the median run, to report one coherent run rather than a mix of medians. */
export function medianIndex(xs: readonly number[]): number {
  const order = xs.map((x, i) => [x, i] as const).sort((a, b) => a[0] - b[0]);
  return order[(order.length - 1) >> 1]![1];
}

/** Clock ticks per second of /proc/<pid>/stat times (`getconf CLK_TCK`; 100 on Linux). */
export const DEFAULT_CLK_TCK = 100;

/**
 * CPU time (user + system, ms) a process has used so far, from /proc/<pid>/stat fields 14-15.
 * The second field (comm) may hold spaces and parentheses: parse after the last ')'.
 */
export function procCpuMs(pid: number, clkTck: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // rest[0] is field 3 (state); utime is field 14, stime field 15.
  const utime = Number(rest[14 - 3]);
  const stime = Number(rest[15 - 3]);
  return ((utime + stime) * 1000) / clkTck;
}

/** Resident set size of a process now (MB), from /proc/<pid>/status. */
export function procRssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1] ?? 0);
  return round(kb / 1024, 1);
}

/**
 * UDP datagrams the kernel dropped because a socket's receive buffer was full, machine-wide
 * (/proc/net/snmp `Udp: RcvbufErrors`). A burst of DNS queries larger than the lab DNS server's
 * buffer shows up here, and as c-ares retries (1.5 s each) in the resolve phase.
 */
export function udpReceiveDrops(): number | undefined {
  try {
    const lines = readFileSync('/proc/net/snmp', 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('Udp:'));
    const names = lines[0]?.split(/\s+/) ?? [];
    const values = lines[1]?.split(/\s+/) ?? [];
    const i = names.indexOf('RcvbufErrors');
    return i === -1 ? undefined : Number(values[i]);
  } catch {
    return undefined;
  }
}
