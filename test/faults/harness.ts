/**
 * Shared plumbing of the fault tests: a manual clock, a seeded PRNG, notifiers and metrics
 * sinks that fail on demand, loopback listeners sharing one port, configs with defaults
 * applied, and the invariants every check must keep (alerts, address history, state shape).
 * Network: loopback only (127.0.0.0/8). Each test file owns its own `127.0.<block>.0/24`.
 */
import type { AddressInfo, Server, Socket } from 'node:net';
import type { Resolver } from 'node:dns/promises';
import { parseConfig } from '../../src/core/config.ts';
import { STATE_SCHEMA_VERSION } from '../../src/core/constants.ts';
import type { Config, ConfigInput } from '../../src/core/config.ts';
import { createResolver } from '../../src/core/resolve.ts';
import type { MetricsSink, Notifier } from '../../src/core/ports.ts';
import type { CheckReport } from '../../src/core/report.ts';
import type { AlertTransition, Clock, TargetState } from '../../src/core/types.ts';

/** Loopback /24 blocks of the fault tests (`127.0.<block>.x`); no other test uses them. */
export const FAULT_BLOCKS = {
  dns: 80,
  dnsBig1: 78,
  dnsBig2: 79,
  listeners: 81,
  soak: 82,
  property: 83,
  concurrency: 84,
  deadline: 85,
  security: 86,
  badInput: 87,
} as const;

/** `127.0.<block>.<host>`. */
export const loopbackAddress = (block: number, host: number): string => `127.0.${block}.${host}`;

/**
 * Slack allowed past a deadline or a probe timeout: timer granularity, the probe runner's abort
 * grace (100 ms), assess, notify and save against in-memory adapters, and a busy 2-core machine.
 */
export const DEADLINE_GRACE_MS = 750;

/** Start of every fault test's manual clock. */
export const T0 = Date.parse('2026-11-25T00:00:00Z');
export const MS_PER_MINUTE = 60_000;

/** A clock the test moves by hand. */
export class ManualClock implements Clock {
  #ms: number;
  constructor(startMs: number = T0) {
    this.#ms = startMs;
  }
  now(): Date {
    return new Date(this.#ms);
  }
  /** Moves time forward by `ms`. */
  advance(ms: number): void {
    this.#ms += ms;
  }
}

/** mulberry32: a tiny seeded PRNG, uniform in [0, 1). Same seed, same sequence. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Largest seed handed out (32-bit, what mulberry32 and fast-check take). */
const MAX_SEED = 0x7fffffff;

/**
 * The seed named by environment variable `envVar` (to replay a failure), else a fresh one.
 * Throws on a malformed value rather than silently picking another seed.
 */
export function seedFromEnv(envVar: string): number {
  const raw = process.env[envVar];
  if (raw === undefined || raw === '') return Math.floor(Math.random() * MAX_SEED);
  const seed = Number(raw);
  if (!Number.isInteger(seed)) throw new Error(`${envVar} must be an integer seed, got "${raw}"`);
  return seed;
}

/** Seeded choices on top of {@link mulberry32}. */
export class Rng {
  readonly #next: () => number;
  constructor(readonly seed: number) {
    this.#next = mulberry32(seed);
  }
  /** Uniform in [0, 1). */
  next(): number {
    return this.#next();
  }
  /** True with probability `p`. */
  chance(p: number): boolean {
    return this.#next() < p;
  }
  /** Integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.#next() * (max - min + 1));
  }
  /** One element of a non-empty list. */
  pick<T>(items: readonly T[]): T {
    return items[this.int(0, items.length - 1)] as T;
  }
  /** One key of `weights`, with probability proportional to its weight. */
  weighted<K extends string>(weights: Readonly<Record<K, number>>): K {
    const entries = Object.entries(weights) as [K, number][];
    const total = entries.reduce((n, [, w]) => n + w, 0);
    let r = this.#next() * total;
    for (const [k, w] of entries) {
      r -= w;
      if (r < 0) return k;
    }
    return entries[entries.length - 1]![0];
  }
  /** A random non-empty subset of `items` with `min`..`max` elements, in the items' order. */
  subset<T>(items: readonly T[], min: number, max: number): T[] {
    const n = this.int(Math.max(1, min), Math.min(max, items.length));
    const shuffled = [...items]
      .map((v) => ({ v, k: this.#next() }))
      .sort((a, b) => a.k - b.k)
      .slice(0, n);
    return items.filter((i) => shuffled.some((s) => s.v === i));
  }
}

/** Error every injected delivery failure throws (so tests can tell it from real ones). */
export class InjectedFault extends Error {
  override readonly name = 'InjectedFault';
}

/**
 * A notifier that records every transition it accepted, in order, and fails when `shouldFail`
 * says so (an SNS outage, throttling). A failure means "not delivered": nothing is recorded.
 */
export class RecordingNotifier implements Notifier {
  readonly delivered: AlertTransition[] = [];
  attempts = 0;
  failures = 0;
  constructor(public shouldFail: () => boolean = () => false) {}
  async notify(t: AlertTransition): Promise<void> {
    this.attempts++;
    if (this.shouldFail()) {
      this.failures++;
      throw new InjectedFault(`SNS unavailable (injected) for ${t.key}`);
    }
    this.delivered.push(structuredClone(t));
  }
}

/** A metrics sink that throws when `shouldFail` says so (CloudWatch throttled). */
export class FlakyMetrics implements MetricsSink {
  published = 0;
  failures = 0;
  constructor(public shouldFail: () => boolean = () => false) {}
  async publishMetrics(_report: CheckReport): Promise<void> {
    if (this.shouldFail()) {
      this.failures++;
      throw new InjectedFault('CloudWatch throttled (injected)');
    }
    this.published++;
  }
}

/** A resolver factory on the lab DNS server with a short per-query timeout (one try). */
export function labResolvers(dnsAddress: string, timeoutMs: number, tries = 1): () => Resolver {
  return () => createResolver({ resolvers: [dnsAddress], timeoutMs, tries });
}

/**
 * A config with every default applied (throws ConfigError when the test wrote a bad one). These
 * tests look at bounds and delivery, not at the warning debounce (test/unit/alerts.test.ts has
 * that): a warning opens on the first check that sees it unless a target says otherwise.
 */
export const config = (input: ConfigInput): Config =>
  parseConfig({ allowLoopback: true, ...input, targets: input.targets.map((t) => ({ openAfterChecks: 1, ...t })) as ConfigInput['targets'] });

/** Attempts at finding one port free on every host of {@link listenSamePort}. */
const SAME_PORT_ATTEMPTS = 10;

/** Servers listening on one port, and how to end them and their connections. */
export interface SamePortServers {
  port: number;
  servers: Server[];
  /** Destroys every open connection and closes every server. */
  close(): Promise<void>;
}

/**
 * Listens with one server per host, all on the same port (an ELB target has one port for all
 * its addresses). Retries with another port when one host has it taken. `create` is called
 * again on each attempt, so servers are never reused after a failed listen.
 */
export async function listenSamePort(hosts: readonly string[], create: (host: string) => Server): Promise<SamePortServers> {
  for (let attempt = 1; ; attempt++) {
    const servers: Server[] = [];
    const sockets = new Set<Socket>();
    const close = async () => {
      for (const s of sockets) s.destroy();
      await Promise.all(servers.map((s) => new Promise<void>((resolve) => (s.listening ? s.close(() => resolve()) : resolve()))));
    };
    try {
      let port = 0;
      for (const host of hosts) {
        const server = create(host);
        servers.push(server);
        server.on('connection', (socket: Socket) => {
          sockets.add(socket);
          socket.on('error', () => undefined);
          socket.once('close', () => sockets.delete(socket));
        });
        await new Promise<void>((resolve, reject) => {
          server.once('error', reject);
          server.listen(port, host, () => {
            server.off('error', reject);
            resolve();
          });
        });
        port = (server.address() as AddressInfo).port;
      }
      return { port, servers, close };
    } catch (err) {
      await close();
      if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE' || attempt >= SAME_PORT_ATTEMPTS) throw err;
    }
  }
}

/** The report of one target (throws when the check did not report it). */
export function targetReport(report: CheckReport, name: string) {
  const t = report.targets.find((r) => r.target === name);
  if (!t) throw new Error(`no report for target ${name}`);
  return t;
}

/** Current (not retired) addresses of a state, sorted. */
export const currentAddresses = (state: TargetState | undefined): string[] =>
  (state?.addresses ?? [])
    .filter((a) => a.retiredAt === undefined)
    .map((a) => a.address)
    .sort();

/** Every address a state remembers, sorted. */
export const knownAddresses = (state: TargetState | undefined): string[] => (state?.addresses ?? []).map((a) => a.address).sort();

/**
 * Alert invariants over the notifier's delivered log and the saved states. Returns one line
 * per violation (empty when all hold):
 * - an alert in state with `lastNotifiedAt` had its "opened" delivered (same key and openedAt);
 * - every delivered "resolved" was preceded by a delivered "opened" of the same alert;
 * - `lastNotifiedAt` is set exactly when at least one notice went out;
 * - with `maxOpenedPerAlert`, no alert's "opened" was delivered more often (duplicate storm).
 */
export function alertViolations(delivered: readonly AlertTransition[], states: Iterable<TargetState>, maxOpenedPerAlert?: number): string[] {
  const out: string[] = [];
  const life = (t: { key: string; openedAt?: string }) => `${t.key}|${t.openedAt ?? ''}`;
  const openedCount = new Map<string, number>();
  delivered.forEach((t, i) => {
    if (t.type === 'opened') openedCount.set(life(t), (openedCount.get(life(t)) ?? 0) + 1);
    if (t.type === 'resolved' && !delivered.slice(0, i).some((o) => o.type === 'opened' && life(o) === life(t))) {
      out.push(`resolved ${life(t)} delivered (notice #${i}) without a delivered "opened" before it`);
    }
    if (t.type === 'reminder' && !delivered.slice(0, i).some((o) => o.type === 'opened' && life(o) === life(t))) {
      out.push(`reminder ${life(t)} delivered (notice #${i}) without a delivered "opened" before it`);
    }
  });
  for (const state of states) {
    for (const [key, alert] of Object.entries(state.alerts)) {
      if (key !== alert.key) out.push(`${state.target}: alert stored under ${key} has key ${alert.key}`);
      if (alert.lastNotifiedAt !== undefined && !openedCount.has(life(alert)))
        out.push(`${state.target}: ${life(alert)} has lastNotifiedAt but no "opened" was delivered`);
      if ((alert.lastNotifiedAt !== undefined) !== alert.notifications > 0)
        out.push(`${state.target}: ${life(alert)} lastNotifiedAt=${alert.lastNotifiedAt} with notifications=${alert.notifications}`);
    }
  }
  if (maxOpenedPerAlert !== undefined) {
    for (const [k, n] of openedCount) if (n > maxOpenedPerAlert) out.push(`${k}: "opened" delivered ${n} times (max ${maxOpenedPerAlert})`);
  }
  return out;
}

/**
 * Shape invariants of one saved state: the right target and schema, unique addresses,
 * first seen <= last seen, retired addresses with a valid time, alert keys of this target.
 */
export function stateViolations(state: TargetState, target: string): string[] {
  const out: string[] = [];
  if (state.target !== target) out.push(`state of ${target} names ${state.target}`);
  if (state.schemaVersion !== STATE_SCHEMA_VERSION) out.push(`${target}: schemaVersion ${String(state.schemaVersion)}`);
  if (!Number.isInteger(state.version) || state.version < 1) out.push(`${target}: version ${state.version}`);
  const seen = new Set<string>();
  for (const a of state.addresses) {
    if (seen.has(a.address)) out.push(`${target}: address ${a.address} recorded twice`);
    seen.add(a.address);
    if (Date.parse(a.firstSeen) > Date.parse(a.lastSeen)) out.push(`${target}: ${a.address} first seen after last seen`);
    if (a.retiredAt !== undefined && Number.isNaN(Date.parse(a.retiredAt))) out.push(`${target}: ${a.address} retiredAt ${a.retiredAt}`);
  }
  for (const alert of Object.values(state.alerts)) if (alert.target !== target) out.push(`${target}: holds alert ${alert.key} of ${alert.target}`);
  return out;
}

/** Credential-looking strings that must never reach a log line, a notice or a report. */
export const CREDENTIAL_PATTERNS: readonly RegExp[] = [
  /(?<![A-Z0-9])(?:AKIA|ASIA)[A-Z0-9]{16}(?![A-Z0-9])/,
  /\b(?:password|passwd|pwd|secret|token|api[_-]?key|access[_-]?key|auth)\s*[=:]\s*[^\s&"',;]+/i,
  /\b[a-z][a-z0-9+.-]*:\/\/[^/\s:@"]+:[^/\s@"]+@/i,
  /\bBearer\s+[A-Za-z0-9._~+/-]{8,}/,
];

/** The credential-looking strings found in `text` (empty when clean). */
export function credentialsIn(text: string): string[] {
  return CREDENTIAL_PATTERNS.flatMap((re) => {
    const m = re.exec(text);
    return m ? [m[0]] : [];
  });
}
