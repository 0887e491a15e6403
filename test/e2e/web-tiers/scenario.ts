/**
 * One scenario, inside its own namespaces: the lab DNS server on 127.0.0.1:53 (the system
 * resolver's only server), four ELB-like nodes, one real web server proxying to the ELB name,
 * background client traffic, and ipdrift checking the ELB and the web tier. The story:
 *
 *   baseline (DNS -> old nodes) -> DNS moves to the new nodes -> after the drain the old nodes
 *   keep serving / refuse / swallow -> ipdrift checks once per TTL until its findings settle.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { runCheck } from '../../../src/core/check.ts';
import { parseConfig } from '../../../src/core/config.ts';
import type { Config } from '../../../src/core/config.ts';
import type { CheckReport } from '../../../src/core/report.ts';
import { MemoryStore } from '../../../src/adapters/local/memory-store.ts';
import { LabDnsServer } from '../../../lab/dns-server.ts';
import { LabNode } from '../../../lab/nodes.ts';
import { waitFor } from '../../../lab/client.ts';
import { exitFor } from '../../../src/cli/commands/check.ts';
import { audienceOf } from '../../../src/core/notice.ts';
import type { ChurnCheck, CheckSample, ScenarioResult, ScenarioSpec, TrafficSummary } from './layout.ts';
import { CHURN_PHASES, NS, TARGETS, TIMING } from './layout.ts';
import { ProcessGroup, prepareNamespace } from './namespace.ts';
import type { Managed } from './namespace.ts';
import { SERVER_DEFS, findBinary, renderConfig } from './servers.ts';
import { Traffic, clientGet } from './traffic.ts';
import type { ClientSample } from './traffic.ts';

const execFileP = promisify(execFile);

/** Bound on `-v` / `-t` runs of a server binary. */
const SERVER_COMMAND_TIMEOUT_MS = 10_000;
/** Poll interval while waiting for the server to proxy. */
const HEALTH_POLL_MS = 50;
/** Characters of the server's error log kept in the result. */
const LOG_TAIL_CHARS = 3000;

/** The ipdrift configuration of a scenario: the ELB name via the lab DNS server, and the web tier with echo. */
export function scenarioConfig(spec: ScenarioSpec): Config {
  const def = SERVER_DEFS[spec.server];
  return parseConfig({
    resolvers: [`${NS.dnsHost}:${NS.dnsPort}`],
    allowLoopback: true,
    deadlineMs: TIMING.webProbeTimeoutMs * 4,
    targets: [
      {
        name: TARGETS.elb,
        type: 'elb',
        host: NS.elbName,
        port: NS.nodePort,
        timeoutMs: TIMING.elbProbeTimeoutMs,
        probe: { protocol: 'http', path: '/health' },
      },
      {
        name: TARGETS.web,
        type: 'web-tier',
        url: `http://${NS.webHost}:${NS.webPort}/health`,
        upstream: TARGETS.elb,
        echo: { path: '/whoami' },
        timeoutMs: TIMING.webProbeTimeoutMs,
        ...(def.needsHint ? { server: spec.server } : {}),
      },
    ],
  });
}

/** Points the ELB name and `all.<name>` (Route 53 has both for ELBs) at `addresses`. */
function setElb(dns: LabDnsServer, addresses: readonly string[]): void {
  dns.setA(NS.elbName, addresses, TIMING.ttlSeconds);
  dns.setA(`all.${NS.elbName}`, addresses, TIMING.ttlSeconds);
}

/** The part of a check report the result keeps; times in ms after `origin` (performance.now()). */
function sample(report: CheckReport, start: number, end: number, origin: number): CheckSample {
  const web = report.targets.find((t) => t.target === TARGETS.web)?.web;
  return {
    startMs: Math.round(start - origin),
    endMs: Math.round(end - origin),
    web: web
      ? {
          ok: web.ok,
          latencyMs: web.latencyMs,
          ...(web.status !== undefined ? { status: web.status } : {}),
          ...(web.server !== undefined ? { server: web.server } : {}),
          ...(web.error ? { error: web.error.message } : {}),
          ...(web.echo ? { echo: web.echo.ok ? web.echo.address : `(${web.echo.message})` } : {}),
        }
      : { ok: false, latencyMs: 0, error: 'no web observation' },
    findings: report.findings.map((f) => ({ target: f.target, kind: f.kind, advice: f.advice })),
  };
}

/** The web tier's stale-kind set of a check, as a sortable key. */
const webKinds = (c: CheckSample) =>
  c.findings
    .filter((f) => f.target === TARGETS.web)
    .map((f) => f.kind)
    .sort()
    .join(',');

/** True once the last `TIMING.stableChecks` checks saw the same web-tier findings. */
function settled(checks: readonly CheckSample[]): boolean {
  if (checks.length < Math.max(TIMING.minChecks, TIMING.stableChecks)) return false;
  const last = checks.slice(-TIMING.stableChecks).map(webKinds);
  return last.every((k) => k === last[0]);
}

const EMPTY_TRAFFIC: TrafficSummary = { requests: 0, outcomes: {}, viaOld: 0, viaNew: 0, stalls: 0, maxMs: 0 };

/** What a story gets from {@link runStory}: the running lab and server, and the result to fill in. */
interface Story {
  result: ScenarioResult;
  dns: LabDnsServer;
  /** NS.oldNodes then NS.newNodes. */
  nodes: LabNode[];
  server: Managed;
  url: string;
  /** performance.now() when the scenario began. */
  started: number;
  /** Starts client traffic through the tier (stopped, cut, by runStory if the story throws). */
  startTraffic(): Traffic;
}

/**
 * The frame of every story: the namespace's lab and the real server up, the story played, the
 * server checked to be still running, and everything stopped whatever happened. Never throws:
 * a failure comes back as `ok: false` with the server's log tail.
 */
async function runStory(spec: ScenarioSpec, dir: string, log: (msg: string) => void, play: (story: Story) => Promise<void>): Promise<ScenarioResult> {
  const started = performance.now();
  const def = SERVER_DEFS[spec.server];
  const result: ScenarioResult = {
    spec,
    ok: false,
    baseline: [],
    checks: [],
    traffic: { baseline: EMPTY_TRAFFIC, drain: EMPTY_TRAFFIC, after: EMPTY_TRAFFIC },
    durationMs: 0,
    ...(def.needsHint ? { serverHint: spec.server } : {}),
  };
  const procs = new ProcessGroup();
  const stoppers: { stop(): Promise<void> }[] = [];
  let server: Managed | undefined;
  let traffic: Traffic | undefined;
  try {
    const { dns, nodes } = await startLab(dir, stoppers);
    const tier = await startServer(spec, dir, procs, result, log, (m) => (server = m));
    const startTraffic = () => {
      traffic = new Traffic(`${tier.url}/whoami`);
      traffic.start();
      return traffic;
    };
    await play({ result, dns, nodes, server: tier.server, url: tier.url, started, startTraffic });
    if (tier.server.child.exitCode !== null || tier.server.child.signalCode !== null)
      throw new Error(`${def.label} exited during the scenario: ${tier.server.output().slice(-500)}`);
    result.ok = true;
  } catch (err) {
    result.error = err instanceof Error ? err.message : String(err);
  } finally {
    await traffic?.stop({ cut: true }).catch(() => undefined);
    await procs.stopAll();
    await Promise.allSettled(stoppers.map((s) => s.stop()));
    if (!result.ok || spec.story === 'pooled' || process.env.WEB_TIERS_LOGS) result.serverLog = readTail(def.errorLog(dir), server);
    result.durationMs = Math.round(performance.now() - started);
  }
  return result;
}

/** Runs one scenario of the matrix (story `replace`); `dir` is a private temp dir. Must run inside the namespaces (see namespace.ts). */
export function runScenario(spec: ScenarioSpec, dir: string, log: (msg: string) => void): Promise<ScenarioResult> {
  const config = scenarioConfig(spec);
  const store = new MemoryStore();
  return runStory(spec, dir, log, async ({ result, dns, nodes, started, startTraffic }) => {
    // Check times are taken from `started` here and shifted to "ms after the DNS change" at the end.
    const check = async (): Promise<CheckSample> => {
      const start = performance.now();
      const report = await runCheck(config, { store, notifier: { notify: async () => undefined }, clock: { now: () => new Date() } });
      return sample(report, start, performance.now(), started);
    };
    const oldNodes = nodes.slice(0, NS.oldNodes.length);

    // Act 1: baseline, with traffic.
    const traffic = startTraffic();
    for (let i = 0; i < TIMING.baselineChecks; i++) {
      if (i > 0) await sleep(TIMING.baselineIntervalMs);
      result.baseline.push(await check());
    }

    // Act 2: the ELB replaces its nodes: DNS moves; the old nodes drain, then do what the scenario says.
    const t0 = performance.now();
    setElb(dns, NS.newNodes);
    log(`DNS moved to ${NS.newNodes.join(', ')}`);
    const oldModeChange = (async () => {
      if (spec.scenario === 'drain') return;
      await sleep(TIMING.drainMs - (performance.now() - t0));
      result.oldNodesChangedAtMs = Math.round(performance.now() - t0);
      await Promise.all(oldNodes.map((n) => n.setMode(spec.scenario === 'refuse' ? 'refuse' : 'swallow')));
      log(`old nodes: ${spec.scenario} from +${result.oldNodesChangedAtMs} ms`);
    })();
    await sleep(TIMING.earlyCheckMs);
    result.early = await check();
    await oldModeChange;

    // Act 3: checks once per TTL until the web tier's findings settle (bounded).
    const wait = TIMING.firstCheckMs - (performance.now() - t0);
    if (wait > 0) await sleep(wait);
    while (result.checks.length < TIMING.maxChecks && !settled(result.checks)) {
      const next = performance.now() + TIMING.checkIntervalMs;
      result.checks.push(await check());
      const pause = next - performance.now();
      if (pause > 0 && !settled(result.checks)) await sleep(pause);
    }
    await traffic.stop();
    const changeAt = t0 + (result.oldNodesChangedAtMs ?? TIMING.drainMs);
    // A request stalled by the change belongs to "after" even if it started before.
    const after = (c: ClientSample) => c.at >= changeAt || (c.at + c.ms > changeAt && c.ms > TIMING.stallMs);
    result.traffic = {
      baseline: traffic.summary((c) => c.at < t0, NS.oldNodes, NS.newNodes),
      drain: traffic.summary((c) => c.at >= t0 && !after(c), NS.oldNodes, NS.newNodes),
      after: traffic.summary(after, NS.oldNodes, NS.newNodes),
    };
    const shift = Math.round(t0 - started);
    for (const c of [...result.baseline, ...(result.early ? [result.early] : []), ...result.checks]) {
      c.startMs -= shift;
      c.endMs -= shift;
    }
  });
}

/** The namespace's lab: DNS naming the old nodes, and all four ELB-like nodes. */
async function startLab(dir: string, stoppers: { stop(): Promise<void> }[]): Promise<{ dns: LabDnsServer; nodes: LabNode[] }> {
  prepareNamespace(dir);
  const dns = await LabDnsServer.start({ host: NS.dnsHost, port: NS.dnsPort });
  stoppers.push(dns);
  setElb(dns, NS.oldNodes);
  const nodes = await Promise.all([...NS.oldNodes, ...NS.newNodes].map((host) => LabNode.start({ host, port: NS.nodePort })));
  stoppers.push(...nodes);
  return { dns, nodes };
}

/** One check with the alert state kept across checks, as the Lambda does, recorded as on-call would receive it. */
async function storyCheck(config: Config, store: MemoryStore, phase: ChurnCheck['phase']): Promise<ChurnCheck> {
  const line = (t: CheckReport['transitions'][number]) => `${t.type}:${t.target}:${t.kind}`;
  const report = await runCheck(config, { store, notifier: { notify: async () => undefined }, clock: { now: () => new Date() } });
  const echo = report.targets.find((t) => t.target === TARGETS.web)?.web?.echo;
  return {
    phase,
    exit: exitFor(report),
    findings: report.findings.map((f) => `${f.target}:${f.kind}`),
    onCall: report.transitions.filter((t) => audienceOf(t) === 'on-call').map(line),
    events: report.transitions.filter((t) => audienceOf(t) === 'events').map(line),
    ...(echo?.ok ? { echo: echo.address } : {}),
  };
}

/** Runs `n` story checks of `phase`, one per TIMING.checkIntervalMs, into `out`. */
async function storyChecks(config: Config, store: MemoryStore, phase: ChurnCheck['phase'], n: number, out: ChurnCheck[]): Promise<void> {
  for (let i = 0; i < n; i++) {
    const next = performance.now() + TIMING.checkIntervalMs;
    out.push(await storyCheck(config, store, phase));
    const pause = next - performance.now();
    if (pause > 0) await sleep(pause);
  }
}

/**
 * The churn story (layout.ts CHURN_PHASES): a compressed day of a healthy ELB's life behind the
 * real web server, checked once per TTL with the alert state kept across checks, as the Lambda
 * does. Records what each check would have sent to on-call and what `ipdrift check` would exit.
 */
export function runChurn(spec: ScenarioSpec, dir: string, log: (msg: string) => void): Promise<ScenarioResult> {
  const config = scenarioConfig(spec);
  const store = new MemoryStore();
  const all = [...NS.oldNodes, ...NS.newNodes];
  return runStory(spec, dir, log, async ({ result, dns, nodes, startTraffic }) => {
    const churn: ChurnCheck[] = (result.churn = []);
    const traffic = startTraffic();
    const t0 = performance.now();
    for (const phase of CHURN_PHASES) {
      setElb(
        dns,
        phase.dns.map((i) => all[i]!),
      );
      if ('node' in phase) await nodes[phase.node.index]!.setMode(phase.node.mode);
      log(`${phase.id}: DNS ${phase.dns.map((i) => all[i]).join(', ')}`);
      await storyChecks(config, store, phase.id, TIMING.churnChecksPerPhase, churn);
    }
    await traffic.stop();
    result.traffic.after = traffic.summary((c) => c.at >= t0, NS.oldNodes, NS.newNodes);
  });
}

/**
 * The pooled story: the server's pooled configuration (it follows DNS and reuses upstream
 * connections) through a node replacement. The old nodes drain for TIMING.pooledDrainChecks
 * checks, then go: they refuse, and their open connections are reset, so the pool dials again.
 */
export function runPooled(spec: ScenarioSpec, dir: string, log: (msg: string) => void): Promise<ScenarioResult> {
  const config = scenarioConfig(spec);
  const store = new MemoryStore();
  return runStory(spec, dir, log, async ({ result, dns, nodes, startTraffic }) => {
    const checks: ChurnCheck[] = (result.churn = []);
    const traffic = startTraffic();
    await storyChecks(config, store, 'baseline', TIMING.baselineChecks, checks);
    const t0 = performance.now();
    setElb(dns, NS.newNodes);
    log(`DNS moved to ${NS.newNodes.join(', ')}; the old nodes drain`);
    await storyChecks(config, store, 'drain', TIMING.pooledDrainChecks, checks);
    await Promise.all(nodes.slice(0, NS.oldNodes.length).map((n) => n.setMode('refuse')));
    result.oldNodesChangedAtMs = Math.round(performance.now() - t0);
    log(`old nodes: refuse from +${result.oldNodesChangedAtMs} ms`);
    await storyChecks(config, store, 'gone', TIMING.pooledGoneChecks, checks);
    await traffic.stop();
    const changeAt = t0 + result.oldNodesChangedAtMs;
    result.traffic.drain = traffic.summary((c) => c.at >= t0 && c.at < changeAt, NS.oldNodes, NS.newNodes);
    result.traffic.after = traffic.summary((c) => c.at >= changeAt, NS.oldNodes, NS.newNodes);
    result.unserved = traffic.samples
      .filter((c) => c.at >= t0 && c.outcome !== '200')
      .map((c) => ({ afterGoneMs: Math.round(c.at - changeAt), ms: c.ms, outcome: c.outcome }));
  });
}

/**
 * Starts the real web server of `spec` in the scenario's namespace (its config rendered into
 * `dir`, its version and config test recorded in `result`), waits until it proxies to the old
 * nodes, and warms every worker while DNS still names them (each httpd child resolves on first use).
 */
async function startServer(
  spec: ScenarioSpec,
  dir: string,
  procs: ProcessGroup,
  result: ScenarioResult,
  log: (msg: string) => void,
  onStart: (server: Managed) => void,
): Promise<{ server: Managed; url: string }> {
  const def = SERVER_DEFS[spec.server];
  const bin = findBinary(def.binaries);
  if (!bin) throw new Error(`${def.label} not found`);
  result.serverVersion = `${def.label} ${await serverVersion(bin, def.versionArgs, def.versionPattern)}`;
  const confPath = join(dir, def.configFile);
  writeFileSync(confPath, renderConfig(spec.server, spec.config, dir, spec.story === 'pooled'));
  for (const sub of ['body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) mkdirSync(join(dir, sub), { recursive: true });
  result.configTest = (await configTest(bin, def.testArgs(confPath, dir))).replaceAll(dir, '<dir>');
  log(`${result.serverVersion}: config test: ${result.configTest}`);
  const server = procs.start(spec.server, bin, def.startArgs(confPath, dir), { cwd: dir });
  onStart(server);
  const url = `http://${NS.webHost}:${NS.webPort}`;
  const exitedEarly = server.exited.then((code) => {
    throw new Error(`${def.label} exited (${code}) before it served: ${server.output().slice(-500)}`);
  });
  exitedEarly.catch(() => undefined);
  await Promise.race([
    waitFor(async () => (await clientGet(`${url}/whoami`, TIMING.clientTimeoutMs)).outcome === '200', {
      timeoutMs: TIMING.startTimeoutMs,
      intervalMs: HEALTH_POLL_MS,
      what: `${def.label} proxying to the old nodes`,
    }),
    exitedEarly,
  ]);
  // Every httpd child resolves on first use: warm them all while DNS still names the old nodes.
  await Promise.all(Array.from({ length: TIMING.warmupRequests }, () => clientGet(`${url}/whoami`, TIMING.clientTimeoutMs)));
  return { server, url };
}

async function serverVersion(bin: string, args: readonly string[], pattern: RegExp): Promise<string> {
  // nginx prints its version on stderr.
  const { stdout, stderr } = await execFileP(bin, [...args], { timeout: SERVER_COMMAND_TIMEOUT_MS });
  const text = `${stdout}\n${stderr}`;
  return pattern.exec(text)?.[1] ?? text.trim().split('\n')[0] ?? 'unknown';
}

/** Runs the server's configuration test; throws with its output when it rejects the file. */
async function configTest(bin: string, args: readonly string[]): Promise<string> {
  try {
    const { stdout, stderr } = await execFileP(bin, [...args], { timeout: SERVER_COMMAND_TIMEOUT_MS });
    return oneLine(`${stdout}\n${stderr}`);
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new Error(`configuration rejected: ${oneLine(`${e.stdout ?? ''}\n${e.stderr ?? e.message}`)}`);
  }
}

const oneLine = (text: string) =>
  text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .join(' | ');

function readTail(path: string, proc: Managed | undefined): string {
  let text = '';
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    // no log file: the process output is all there is
  }
  return `${text}${proc ? proc.output() : ''}`.slice(-LOG_TAIL_CHARS);
}
