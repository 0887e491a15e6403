/** `ipdrift demo`: the offline lab replays the stale-address incident live. */
import { audienceOf } from '../../core/notice.ts';
import { formatFindings, formatTransition, painter } from '../../adapters/local/console.ts';
import { playIncident } from '../../../lab/run-incident.ts';
import type { StepOutcome } from '../../../lab/run-incident.ts';
import { MemoryStore } from '../../adapters/local/memory-store.ts';
import { renderReport } from '../../adapters/local/report-html.ts';
import type { Config } from '../../core/config.ts';
import { checkReportPath, pictureFromStore, writeReport } from '../report-file.ts';
import { targetsOf } from './report.ts';
import { parse } from '../args.ts';
import { EXIT } from '../errors.ts';
import { systemClock } from '../clock.ts';
import { INCIDENT } from '../../../lab/incident.ts';

export const DEMO_USAGE = `Usage: ipdrift demo [--json] [--report FILE]
       ipdrift demo aurora [--lag 3s] [--engine mysql|postgres] [--json] [--report FILE]   (an Aurora failover; see "demo aurora --help")

Replays the incident offline, on loopback: a lab DNS server serves an internal ELB name, two
ELB-like nodes get replaced, a web tier that resolved the name once (like Apache httpd <= 2.4.58)
keeps using the retired addresses, one that honours the TTL follows, and a batch host nobody
configured keeps using an old node too. The lab writes what AWS writes: VPC flow logs (both ends
of every connection) and Route 53 Resolver query logs (every lookup, by who asked), so ipdrift
names the hosts that cache the name before the change and pages them the moment it retires.
After each step ipdrift runs one check and prints what it found and which notices it sent
(pages for on-call, events for reading later). Takes about 25 s.

Options:
  --json           one JSON document with every step's findings and transitions
  --report FILE    also write the incident as one HTML picture (see "ipdrift report --help")
  -h               this help

Examples:
  ipdrift demo                         (= npm start) the incident, about 25 s
  ipdrift demo --report incident.html  and its picture
  ipdrift demo aurora --lag 5s         an Aurora failover whose DNS lags 5 s

Exit status: 0 when the story played; 2 on a usage error or a --report FILE that is not an
earlier report (kept as it was); 3 when the lab could not start (a loopback port in use).`;

export async function demoCommand(argv: string[]): Promise<number> {
  if (argv[0] === 'aurora') return (await import('./failover-drill.ts')).demoAuroraCommand(argv.slice(1));
  const { values } = parse(argv, { json: { type: 'boolean', default: false }, report: { type: 'string' } }, DEMO_USAGE);
  if (values.help) {
    console.log(DEMO_USAGE);
    return EXIT.ok;
  }
  if (values.report) await checkReportPath(values.report, DEMO_USAGE, '--report');
  const colour = Boolean(process.stdout.isTTY) && !process.env.NO_COLOR && !values.json;
  const paint = painter(colour);
  let n = 0;
  const store = new MemoryStore();
  const startedAt = systemClock.now();
  let config: Config | undefined;
  const outcomes = await playIncident({
    clock: systemClock,
    store,
    flow: true,
    onConfig: (c) => {
      config = c;
    },
    onStart: (title) => {
      if (!values.json) console.log(`\n${paint('bold', `[${new Date().toISOString().slice(11, 23)}] step ${++n}: ${title}`)}`);
    },
    onStep: (o) => {
      if (values.json) return;
      for (const c of o.clients)
        console.log(
          paint(
            'dim',
            `    a user's request via ${c.tier}: ${c.status === 'error' ? 'no answer' : `HTTP ${c.status}`} in ${c.ms} ms${c.upstream ? ` (served by ${c.upstream})` : ''}`,
          ),
        );
      console.log(formatFindings(o.report.findings, colour).replace(/^/gm, '    '));
      for (const t of o.transitions) console.log(`    -> ${formatTransition(t, colour)}`);
      console.log(paint('dim', `    (check took ${o.report.durationMs} ms; t+${o.atSeconds.toFixed(1)} s)`));
    },
  });
  if (values.report && config) await writeDemoReport(values.report, store, config, outcomes, startedAt);
  if (values.json) {
    console.log(JSON.stringify(outcomes.map(toJson), null, 2));
    return EXIT.ok;
  }
  console.log(`\n${paint('bold', 'What happened')}`);
  const fresh = outcomes.every((o) => o.report.findings.every((f) => f.target !== 'web-fresh'));
  const before = outcomes.find((o) => o.step.id === 'baseline')?.report.findings.filter((f) => f.kind === 'dns-cache-at-risk') ?? [];
  console.log(
    `  - before any change, the cache census (flow + resolver query logs) named the hosts that resolved the name once: ${before.map((f) => (f.target === 'app-alb' ? `${String(f.evidence.client)} (${String(f.evidence.sourceAddress)})` : `${f.target} (${String(f.evidence.client)})`)).join(', ') || 'none (unexpected)'}`,
  );
  const detection = detectionOf(outcomes, 'web-stale');
  console.log(
    `  - first page for the stale web tier: ${detection ?? 'none (unexpected)'}, before any user failed (the resolver query logs prove it never re-resolved)`,
  );
  const failed = outcomes.find((o) => o.clients.some((c) => c.tier === 'web-stale' && c.status !== 200));
  if (failed) console.log(`  - users failed through it from step "${failed.step.id}" on; the incident stayed open until the restart, then resolved once`);
  console.log(`  - fresh web tier (honours the TTL): ${fresh ? 'never flagged' : 'FLAGGED (unexpected)'}`);
  const batch = outcomes.flatMap((o) => o.report.findings).find((f) => f.kind === 'stale-client-seen' && f.target === 'app-alb');
  if (batch)
    console.log(
      `  - a client no target names (the flow logs, both ends of each connection: ${String(batch.evidence.client)}, ${String(batch.evidence.sourceAddress)}) was named before the change and paged the moment its node retired; open until someone restarts it`,
    );
  const sent = outcomes.flatMap((o) => o.transitions);
  const onCall = sent.filter((t) => audienceOf(t) === 'on-call');
  const incidents = new Set(onCall.filter((t) => t.type === 'opened').map((t) => t.key)).size;
  const events = sent.length - onCall.length;
  console.log(`  - incidents paged: ${incidents}; messages to on-call: ${onCall.length} (${onCall.map((t) => `${t.type} ${t.target}`).join(', ') || 'none'})`);
  console.log(`  - events for reading later (address changes, hosts at risk named before the change; never a page): ${events}`);
  console.log(`  - the released old nodes (retired-address-dead) paged nobody: that is the ELB working as designed`);
  if (values.report) console.log(`  - the picture: ${values.report} (open it in a browser)`);
  console.log('\nNext: write a config for your own endpoints and run "ipdrift check --config FILE" (see README).');
  return EXIT.ok;
}

/**
 * The detection time the demo promises: from the step that moved the ELB's name to the first
 * on-call "opened" for `tier`, in checks and seconds.
 */
function detectionOf(outcomes: readonly StepOutcome[], tier: string): string | undefined {
  const changed = outcomes.findIndex((o) => o.step.id === 'replace');
  const paged = outcomes.findIndex((o) => o.transitions.some((t) => t.target === tier && t.type === 'opened' && audienceOf(t) === 'on-call'));
  if (changed < 0 || paged < changed) return undefined;
  const checks = paged - changed + 1;
  const seconds = outcomes[paged]!.atSeconds - outcomes[changed]!.actedAtSeconds;
  return `check ${checks} after the ELB replaced its nodes, ${seconds.toFixed(1)} s after (the TTL is ${INCIDENT.ttlSeconds} s)`;
}

/** The incident's picture: every check as a tick, the lab's targets as configured. */
async function writeDemoReport(path: string, store: MemoryStore, config: Config, outcomes: readonly StepOutcome[], startedAt: Date): Promise<void> {
  const targets = targetsOf(config);
  const ticks = new Map(targets.map((t) => [t.name, outcomes.map((o) => o.report.startedAt)]));
  const to = systemClock.now();
  // A little room either side, so the first and last checks are not on the frame.
  const pad = Math.max(1000, (to.getTime() - startedAt.getTime()) * 0.03);
  const picture = await pictureFromStore(store, targets, { from: new Date(startedAt.getTime() - pad), to: new Date(to.getTime() + pad) }, { ticks });
  await writeReport(
    path,
    renderReport(picture, { title: 'ipdrift demo: the stale-address incident, replayed', generatedAt: to, source: 'the offline lab' }),
    DEMO_USAGE,
    '--report',
  );
}

function toJson(o: StepOutcome) {
  return {
    step: o.step.id,
    title: o.step.title,
    atSeconds: Number(o.atSeconds.toFixed(2)),
    clients: o.clients,
    findings: o.report.findings.map(({ target, kind, severity, summary, evidence, advice }) => ({ target, kind, severity, summary, evidence, advice })),
    transitions: o.transitions.map(({ type, target, kind, severity, summary }) => ({ type, target, kind, severity, summary })),
  };
}
