/**
 * From scenario results to what people read: per scenario, what the web tier did for clients,
 * what ipdrift reported and how fast; over all scenarios (and runs), the measured figures; and
 * the Markdown matrix for the README. Pure functions: no I/O.
 */
import { SERVER_LABEL } from '../../../src/core/advice.ts';
import type { WebServer } from '../../../src/core/advice.ts';
import type { CheckSample, ScenarioResult, ScenarioSpec, TrafficSummary } from './layout.ts';
import { STALE_KINDS, TARGETS, TIMING, specId } from './layout.ts';
import { SERVER_DEFS } from './servers.ts';

const MS_PER_S = 1000;
const seconds = (ms: number) => `${(ms / MS_PER_S).toFixed(1)} s`;

/** The web tier's stale-address kinds in one check. */
export const staleKinds = (c: CheckSample) => c.findings.filter((f) => f.target === TARGETS.web && STALE_KINDS.has(f.kind)).map((f) => f.kind);

/** Kinds of one target in one check, sorted. */
export const kindsOf = (c: CheckSample, target: string) =>
  c.findings
    .filter((f) => f.target === target)
    .map((f) => f.kind)
    .sort();

/** Whose fix a stale finding's advice gives: a server, or `generic` when ipdrift did not know the server. */
export function adviceServer(advice: string): WebServer | 'generic' {
  const hit = (Object.entries(SERVER_LABEL) as [WebServer, string][]).find(([, label]) => advice.startsWith(`${label} `));
  return hit ? hit[0] : 'generic';
}

/** First detection of a stale tier among the counted checks. */
export interface Detection {
  kind: string;
  /** 1-based: how many counted checks it took. */
  check: number;
  /** End of that check, ms after the DNS change. */
  afterDnsMs: number;
  /** End of that check, ms after the old nodes started refusing or swallowing (refuse, swallow). */
  afterFailureMs?: number;
  /** How long that check took (a stalled tier costs ipdrift its web probe timeout). */
  checkMs: number;
}

/** What one scenario amounts to. */
export interface Verdict {
  spec: ScenarioSpec;
  ok: boolean;
  /** Web-tier stale kinds of the last counted check (the settled finding). */
  settled: string[];
  detection?: Detection;
  /** Counted checks that flagged the tier, of all counted checks. */
  flaggedChecks: number;
  checks: number;
  /** The check inside the TTL flagged the tier (a fresh tier may legitimately still use the old answer then). */
  earlyFlagged: boolean;
  /** Whose fix the advice gives, per flagged counted check. */
  advice: (WebServer | 'generic')[];
}

/** Reduces a result to its verdict. */
export function verdictOf(r: ScenarioResult): Verdict {
  const first = r.checks.findIndex((c) => staleKinds(c).length > 0);
  const hit = first >= 0 ? r.checks[first]! : undefined;
  const last = r.checks.at(-1);
  const advice = r.checks.flatMap((c) => c.findings.filter((f) => f.target === TARGETS.web && STALE_KINDS.has(f.kind)).map((f) => adviceServer(f.advice)));
  return {
    spec: r.spec,
    ok: r.ok,
    settled: last ? staleKinds(last).sort() : [],
    ...(hit
      ? {
          detection: {
            kind: staleKinds(hit).join('+'),
            check: first + 1,
            afterDnsMs: hit.endMs,
            checkMs: hit.endMs - hit.startMs,
            ...(r.oldNodesChangedAtMs !== undefined ? { afterFailureMs: hit.endMs - r.oldNodesChangedAtMs } : {}),
          },
        }
      : {}),
    flaggedChecks: r.checks.filter((c) => staleKinds(c).length > 0).length,
    checks: r.checks.length,
    earlyFlagged: r.early ? staleKinds(r.early).length > 0 : false,
    advice,
  };
}

/** `200 ×22 (old nodes)`, `502 ×1 (3.0 s)`: what clients got through the tier. */
export function describeTraffic(t: TrafficSummary): string {
  if (t.requests === 0) return 'no requests';
  const parts = Object.entries(t.outcomes)
    .sort((a, b) => b[1].n - a[1].n)
    .map(([outcome, o]) => {
      const label = outcome === 'ETIMEDOUT' ? `no answer in ${seconds(TIMING.clientTimeoutMs)}` : outcome;
      const slow = o.maxMs > TIMING.stallMs ? ` (${o.n > 1 ? 'up to ' : ''}${seconds(o.maxMs)})` : '';
      return `${label} ×${o.n}${slow}`;
    });
  const via =
    t.viaOld > 0 && t.viaNew > 0
      ? `, ${t.viaOld} via old / ${t.viaNew} via new nodes`
      : t.viaOld > 0
        ? ', all via old nodes'
        : t.viaNew > 0
          ? ', all via new nodes'
          : '';
  return `${parts.join(', ')}${via}`;
}

const SCENARIO_TEXT = { drain: 'keep serving (drain)', refuse: 'refuse connections', swallow: 'accept, never answer' } as const;

/** What ipdrift reported, short: `stale-address-confirmed ×3/3 (advice: addressttl)`. */
function describeFindings(r: ScenarioResult, v: Verdict): string {
  const def = SERVER_DEFS[r.spec.server];
  const elb = r.checks.at(-1) ? kindsOf(r.checks.at(-1)!, TARGETS.elb).filter((k) => k !== 'address-set-changed') : [];
  const web = v.settled.length > 0 ? `**${v.settled.join(' + ')}** in ${v.flaggedChecks}/${v.checks} checks` : `no stale finding (${v.checks} checks)`;
  const own = v.advice.filter((a) => a === r.spec.server).length;
  const advice =
    v.advice.length === 0
      ? ''
      : own === v.advice.length
        ? `; advice names \`${def.fixWord}\``
        : own === 0
          ? '; advice generic (no Server header seen)'
          : `; advice names \`${def.fixWord}\` in ${own}/${v.advice.length}, generic when the check saw no Server header`;
  return `${web}${advice}${elb.length ? `; ELB: ${elb.join(', ')}` : ''}`;
}

function describeDetection(v: Verdict): string {
  if (!v.detection) return '–';
  const d = v.detection;
  return `check ${d.check}: +${seconds(d.afterDnsMs)}${d.afterFailureMs !== undefined ? ` (+${seconds(d.afterFailureMs)} after the old nodes failed)` : ''}`;
}

/** The matrix as Markdown: one row per scenario, with the servers' versions and the timings above. */
export function matrixMarkdown(results: readonly ScenarioResult[], opts: { generatedAt?: string } = {}): string {
  const versions = [...new Set(results.map((r) => r.serverVersion).filter(Boolean))].join(', ');
  const lines = [
    '| Server | Config | Old nodes after the DNS change | Clients through the tier (after the change) | ipdrift on the web tier | First detection | Check inside the TTL |',
    '| --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const r of results) {
    const def = SERVER_DEFS[r.spec.server];
    const v = verdictOf(r);
    if (!r.ok) {
      lines.push(
        `| ${def.label} | ${r.spec.config} | ${SCENARIO_TEXT[r.spec.scenario]} | did not run: ${escapeCell(r.error ?? 'unknown error').slice(0, 200)} | | | |`,
      );
      continue;
    }
    const clients = describeTraffic(r.traffic.after);
    lines.push(
      `| ${def.label} | ${r.spec.config} | ${SCENARIO_TEXT[r.spec.scenario]} | ${escapeCell(clients)} | ${escapeCell(describeFindings(r, v))} | ${describeDetection(v)} | ${v.earlyFlagged ? 'flagged' : 'quiet'} |`,
    );
  }
  return [
    `Servers: ${versions || 'none ran'}. Each row is one run in its own network namespace${opts.generatedAt ? ` (${opts.generatedAt})` : ''}.`,
    `Lab ELB record TTL ${TIMING.ttlSeconds} s; the old nodes drain ${seconds(TIMING.drainMs)} after the DNS change, then do what the row says;`,
    `the web tier's own upstream timeout is ${TIMING.proxyTimeoutSeconds} s; ipdrift checks once per TTL from +${seconds(TIMING.firstCheckMs)}`,
    `(web probe timeout ${seconds(TIMING.webProbeTimeoutMs)}, echo \`/whoami\`) until its findings are the same ${TIMING.stableChecks} times in a row.`,
    `"Check inside the TTL": one extra check ${TIMING.earlyCheckMs} ms after the change, not counted (see the note below the table).`,
    '',
    ...lines,
    '',
  ].join('\n');
}

const escapeCell = (text: string) => text.replaceAll('|', '\\|').replaceAll('\n', ' ');

/** Figures over every result (of one or more runs). */
export interface Figures {
  runs: number;
  scenarios: number;
  failedToRun: string[];
  /** Stale configurations: detection per scenario kind (ms after the DNS change; after the failure for refuse/swallow). */
  detection: Record<string, { n: number; ms: number[]; checkMs: number[]; checks: number[] }>;
  /** Stale configurations never flagged: how often, and what their clients got the last time. */
  missed: Record<string, { n: number; clients: string }>;
  /** Fresh configurations: counted checks that flagged them (false positives) of all counted checks. */
  freshFalsePositives: number;
  freshChecks: number;
  /** Fresh configurations flagged by the check inside the TTL, of all fresh scenarios. */
  freshEarlyFlagged: number;
  freshScenarios: number;
}

/** Aggregates results (pass every run's results together). */
export function figuresOf(results: readonly ScenarioResult[], runs = 1): Figures {
  const f: Figures = {
    runs,
    scenarios: results.length,
    failedToRun: [],
    detection: {},
    missed: {},
    freshFalsePositives: 0,
    freshChecks: 0,
    freshEarlyFlagged: 0,
    freshScenarios: 0,
  };
  for (const r of results) {
    if (!r.ok) {
      f.failedToRun.push(`${specId(r.spec)}: ${r.error ?? 'unknown'}`);
      continue;
    }
    const v = verdictOf(r);
    if (r.spec.config === 'fresh') {
      f.freshScenarios++;
      f.freshChecks += v.checks;
      f.freshFalsePositives += v.flaggedChecks;
      if (v.earlyFlagged) f.freshEarlyFlagged++;
      continue;
    }
    if (!v.detection) {
      const m = (f.missed[specId(r.spec)] ??= { n: 0, clients: '' });
      m.n++;
      m.clients = describeTraffic(r.traffic.after);
      continue;
    }
    const d = (f.detection[`${r.spec.server}/${r.spec.scenario}`] ??= { n: 0, ms: [], checkMs: [], checks: [] });
    d.n++;
    d.ms.push(v.detection.afterFailureMs ?? v.detection.afterDnsMs);
    d.checkMs.push(v.detection.checkMs);
    d.checks.push(v.detection.check);
  }
  return f;
}

/** `15 ms` under a second, `1.8 s` from there. */
const duration = (ms: number) => (ms < MS_PER_S ? `${Math.round(ms)} ms` : seconds(ms));

/** `1.8 s`, or `1.8 s – 2.0 s` over several runs. */
function range(values: readonly number[], format: (ms: number) => string = seconds): string {
  const lo = format(Math.min(...values));
  const hi = format(Math.max(...values));
  return lo === hi ? lo : `${lo} – ${hi}`;
}

/** The figures as Markdown. */
export function figuresMarkdown(f: Figures): string {
  const rows = Object.entries(f.detection).map(([key, d]) => {
    const from = key.endsWith('/drain') ? 'after the DNS change' : 'after the old nodes failed';
    return `| ${key} | ${range(d.ms)} ${from} | ${range(d.checkMs, duration)} | ${[...new Set(d.checks)].sort().join(', ')} | ${d.n} |`;
  });
  const missed = Object.entries(f.missed).map(([id, m]) => `${id} ×${m.n} (clients: ${m.clients})`);
  return [
    `Figures over ${f.runs} run(s), ${f.scenarios} scenario runs${f.failedToRun.length ? `; did not run: ${f.failedToRun.join('; ')}` : ''}:`,
    '',
    `- False positives on fresh tiers (counted checks): **${f.freshFalsePositives} of ${f.freshChecks}** checks.`,
    `- Fresh tiers flagged by the check inside the TTL: ${f.freshEarlyFlagged} of ${f.freshScenarios} scenario runs.`,
    `- Stale tiers never flagged: ${missed.length ? missed.join(', ') : 'none'}.`,
    '',
    '| stale config / scenario | detection (end of the flagging check) | the flagging check took | checks needed | runs |',
    '| --- | --- | --- | --- | --- |',
    ...rows,
    '',
  ].join('\n');
}
