/**
 * `ipdrift failover-drill`: fail an Aurora cluster over on purpose and measure it, step by step
 * (what the quality team did by hand with an nslookup loop). `ipdrift demo aurora`: the same
 * drill against the offline lab. Both print the live timeline, then a summary table.
 *
 * The AWS adapter is imported only once --yes is given: no other command, and no dry run,
 * loads the SDK.
 */
import { runDrill } from '../../core/aurora/drill.ts';
import type { DrillDeps, DrillResult } from '../../core/aurora/drill.ts';
import { ClusterNotFoundError, FailoverRefusedError, WriterLookupError } from '../../core/aurora/errors.ts';
import { formatStep, formatTimeline, subSecondNote, timelineDocument } from '../../core/aurora/format.ts';
import type { FailoverTimeline } from '../../core/aurora/timeline.ts';
import { buildPicture } from '../../presentation/picture.ts';
import type { FailoverDoc } from '../../presentation/picture.ts';
import { renderReport } from '../../adapters/local/report-html.ts';
import { checkReportPath, writeReport } from '../report-file.ts';
import { defaultSamplerDeps, SAMPLER_DEFAULTS } from '../../core/aurora/sampler.ts';
import type { TimelineStep } from '../../core/aurora/timeline.ts';
import { parseResolver } from '../../core/config.ts';
import { painter } from '../../adapters/local/console.ts';
import { parse, parseCount, parseDuration } from '../args.ts';
import { EXIT, UsageError } from '../errors.ts';
import { MS_PER_SECOND } from '../../core/time-units.ts';

/** Help text of `ipdrift failover-drill`. */
export const FAILOVER_DRILL_USAGE = `Usage: ipdrift failover-drill --cluster ID [--region R] [--host ENDPOINT] [--port P]
                              [--engine mysql|postgres] [--resolver IP[:PORT]] [--deadline 120s] [--yes] [--json]
                              [--report FILE]

Fails an Aurora cluster over (RDS FailoverDBCluster) and measures the failover as a timeline:
when the API named the new writer, when the cluster endpoint's DNS followed, and when a client
connecting through the endpoint reached the new writer. Samples DNS every 250 ms (a fresh
resolver each time), DescribeDBClusters every second (every 250 ms until the writer changes),
and probes the endpoint every 250 ms (MySQL greeting / PostgreSQL SSLRequest; no credentials).

THIS INTERRUPTS THE DATABASE: writers restart, connections drop. Without --yes it only prints
what it would do and calls nothing.

Options:
  --cluster ID      the DB cluster identifier (required)
  --region R        its region (default: the AWS SDK's, e.g. AWS_REGION)
  --host ENDPOINT   the cluster (writer) endpoint (default: from DescribeDBClusters)
  --port P          the port to probe (default: the cluster's)
  --engine E        mysql or postgres (default: from the cluster's engine)
  --resolver A      DNS server to ask (default: the system's; from a laptop that may not be the VPC's)
  --deadline D      stop sampling after this long even if not settled (default 120s)
  --yes             really fail over
  --json            one JSON document (plan, or timeline) instead of text
  --report FILE     also write the failover as one HTML picture (the DNS lag drawn on its timeline)
  -h                this help

Run it from inside the VPC (or over a VPN): probes need to reach the instances.
Examples:
  ipdrift failover-drill --cluster orders                  the plan: what it would call (nothing)
  ipdrift failover-drill --cluster orders --yes --report failover.html

Exit status: 0 settled (or plan printed), 1 not settled before the deadline, 2 bad arguments or
unknown cluster, 3 RDS refused or failed.
Needs rds:DescribeDBClusters and rds:FailoverDBCluster on the cluster.`;

/** Help text of `ipdrift demo aurora`. */
export const DEMO_AURORA_USAGE = `Usage: ipdrift demo aurora [--lag 3s] [--engine mysql|postgres] [--json] [--report FILE]

Plays an Aurora failover offline, on loopback: two database instances that speak the MySQL
greeting (or PostgreSQL's SSLRequest answer), a DNS server whose cluster endpoint is a CNAME to
the writer, and a fake RDS API whose writer flips on failover while the CNAME moves only after
an injected lag. Then runs the same drill code as "ipdrift failover-drill" and prints the
timeline: the measured DNS lag should match the injected one (to a quarter second).

Options:
  --lag D      injected DNS lag (default 3s, incident 2's figure)
  --engine E       mysql (default) or postgres
  --json           one JSON document
  --report FILE    also write the failover as one HTML picture (the DNS lag drawn on its timeline)
  -h               this help

Examples:
  ipdrift demo aurora
  ipdrift demo aurora --engine postgres --lag 1500ms --report failover.html

Exit status: as failover-drill's: 0 settled, 1 not settled before the deadline, 2 usage.`;

/** A lab block of its own so the demo never collides with a running test lab. */
const DEMO_LAB_BLOCK = 90;
const ENGINES = ['mysql', 'postgres'] as const;
type Engine = (typeof ENGINES)[number];

function engineOf(text: string | undefined, usage: string): Engine | undefined {
  if (text === undefined) return undefined;
  if (!(ENGINES as readonly string[]).includes(text)) throw new UsageError(`--engine: expected mysql or postgres, got "${text}"`, usage);
  return text as Engine;
}

/** Live output: one line per step as it is seen (nothing with --json). */
function liveStep(json: boolean, colour: boolean) {
  const paint = painter(colour);
  return (s: TimelineStep) => {
    if (!json) console.log(paint(s.step === 'first-probe-failed' ? 'warning' : s.step === 'first-probe-ok-new-writer' ? 'info' : 'dim', `  ${formatStep(s)}`));
  };
}

/** Prints the result; the exit code says whether it settled. */
function report(result: DrillResult, json: boolean, extra: Record<string, unknown> = {}): number {
  if (json)
    console.log(
      JSON.stringify({ ...extra, before: result.before, timeline: timelineDocument(result.timeline), subSecond: subSecondNote(result.timeline) }, null, 2),
    );
  else console.log(`\n${formatTimeline(result.timeline)}`);
  return result.timeline.settled ? EXIT.ok : EXIT.findings;
}

/** `ipdrift failover-drill`. */
export async function failoverDrillCommand(argv: string[]): Promise<number> {
  const { values } = parse(
    argv,
    {
      cluster: { type: 'string' },
      region: { type: 'string' },
      host: { type: 'string' },
      port: { type: 'string' },
      engine: { type: 'string' },
      resolver: { type: 'string' },
      deadline: { type: 'string' },
      yes: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      report: { type: 'string' },
    },
    FAILOVER_DRILL_USAGE,
  );
  if (values.help) {
    console.log(FAILOVER_DRILL_USAGE);
    return EXIT.ok;
  }
  const usage = FAILOVER_DRILL_USAGE;
  if (!values.cluster) throw new UsageError('--cluster is required', usage);
  const port = values.port === undefined ? undefined : parseCount(values.port, '--port', usage);
  if (port !== undefined && port > 65_535) throw new UsageError(`--port: expected 1-65535, got ${port}`, usage);
  const engine = engineOf(values.engine, usage);
  if (values.resolver !== undefined && !parseResolver(values.resolver))
    throw new UsageError(`--resolver: expected an IP address, optionally with :port, got "${values.resolver}"`, usage);
  const deadlineMs = values.deadline === undefined ? SAMPLER_DEFAULTS.deadlineMs : parseDuration(values.deadline, '--deadline', usage);
  const json = values.json;
  const cluster = values.cluster;
  const region = values.region;

  if (!values.yes) {
    const plan = {
      dryRun: true,
      cluster,
      region: region ?? '(SDK default)',
      calls: ['DescribeDBClusters (writer, endpoint, port, engine)', `FailoverDBCluster {"DBClusterIdentifier":"${cluster}"}`],
      sampling: {
        dnsEveryMs: SAMPLER_DEFAULTS.dnsEveryMs,
        apiEveryMs: SAMPLER_DEFAULTS.apiEveryMs,
        apiUntilChangeEveryMs: SAMPLER_DEFAULTS.apiFastEveryMs,
        probeEveryMs: SAMPLER_DEFAULTS.probeEveryMs,
        deadlineMs,
      },
      host: values.host ?? '(the cluster endpoint from DescribeDBClusters)',
      port: port ?? '(the cluster port)',
      engine: engine ?? '(from the cluster engine)',
      resolver: values.resolver ?? '(system)',
    };
    if (json) console.log(JSON.stringify(plan, null, 2));
    else {
      console.log(`Dry run: nothing was called. With --yes, ipdrift would:
  1. DescribeDBClusters ${cluster}${region ? ` in ${region}` : ''}: the writer now, the endpoint, port and engine
  2. FailoverDBCluster ${cluster}: THE WRITER RESTARTS AND CONNECTIONS DROP
  3. sample until settled or ${deadlineMs / 1000} s: DNS of ${plan.host} every ${SAMPLER_DEFAULTS.dnsEveryMs} ms (resolver: ${plan.resolver}),
     DescribeDBClusters every ${SAMPLER_DEFAULTS.apiEveryMs} ms (${SAMPLER_DEFAULTS.apiFastEveryMs} ms until the writer changes),
     a ${engine ?? 'database'} probe of the endpoint${port ? ` port ${port}` : ''} every ${SAMPLER_DEFAULTS.probeEveryMs} ms
  4. print the timeline and a summary
Run again with --yes to do it.`);
    }
    return EXIT.ok;
  }

  if (values.report) await checkReportPath(values.report, usage, '--report');
  // Loaded only now: the dry run and every other command stay free of the AWS SDK.
  const rds = await import('../../adapters/aws/rds-writer.ts');
  const colour = Boolean(process.stdout.isTTY) && !process.env.NO_COLOR && !json;
  try {
    const described = await rds.describeCluster(cluster, region);
    const host = values.host ?? described.endpoint;
    const probePort = port ?? described.port;
    if (!host || probePort === undefined)
      throw new UsageError(`cluster "${cluster}" reports no ${host ? 'port' : 'endpoint'}; give --${host ? 'port' : 'host'}`, usage);
    const writers = new rds.RdsWriterLookup();
    const deps: DrillDeps = {
      writers,
      starter: new rds.RdsFailoverStarter(),
      sampler: defaultSamplerDeps({
        host,
        port: probePort,
        engine: engine ?? rds.probeEngineOf(described.engine),
        writers,
        ...(values.resolver ? { resolvers: [values.resolver] } : {}),
      }),
    };
    if (!json)
      console.log(`Failing over ${cluster} (writer ${described.writer ?? 'unknown'}, ${described.members.length} member(s)); sampling ${host}:${probePort}...`);
    const result = await runDrill({ cluster, host, deadlineMs, ...(region ? { region } : {}) }, deps, { onStep: liveStep(json, colour) });
    const code = report(result, json, { cluster: described });
    if (values.report) await writeFailoverReport(values.report, result.timeline, usage);
    return code;
  } catch (err) {
    if (err instanceof ClusterNotFoundError) {
      console.error(`ipdrift failover-drill: ${err.message}`);
      return EXIT.usage;
    }
    if (err instanceof FailoverRefusedError || err instanceof WriterLookupError) {
      console.error(`ipdrift failover-drill: ${err.message}`);
      return EXIT.internal;
    }
    throw err;
  }
}

/** One failover as the report draws it: its own timeline, a second either side. */
async function writeFailoverReport(path: string, t: FailoverTimeline, usage: string): Promise<void> {
  const doc = timelineDocument(t) as FailoverDoc;
  const picture = buildPicture({
    from: new Date(t.eventAt - MS_PER_SECOND),
    to: new Date(t.endedAt + MS_PER_SECOND),
    targets: [{ name: t.cluster, type: 'aurora' }],
    states: new Map(),
    history: new Map(),
    failovers: new Map([[t.cluster, [doc]]]),
  });
  const title = `ipdrift: failover of ${t.cluster}`;
  await writeReport(path, renderReport(picture, { title, generatedAt: new Date(), source: `the drill of ${t.host}` }), usage, '--report');
}

/** `ipdrift demo aurora`: the drill against the lab. */
export async function demoAuroraCommand(argv: string[]): Promise<number> {
  const { values } = parse(
    argv,
    { lag: { type: 'string' }, engine: { type: 'string' }, json: { type: 'boolean', default: false }, report: { type: 'string' } },
    DEMO_AURORA_USAGE,
  );
  if (values.help) {
    console.log(DEMO_AURORA_USAGE);
    return EXIT.ok;
  }
  const lagMs = values.lag === undefined ? 3000 : parseDuration(values.lag, '--lag', DEMO_AURORA_USAGE);
  if (values.report) await checkReportPath(values.report, DEMO_AURORA_USAGE, '--report');
  const engine = engineOf(values.engine, DEMO_AURORA_USAGE) ?? 'mysql';
  const json = values.json;
  const colour = Boolean(process.stdout.isTTY) && !process.env.NO_COLOR && !json;
  const paint = painter(colour);
  const { AuroraLab } = await import('../../../lab/aurora.ts');
  const lab = await AuroraLab.start({ block: DEMO_LAB_BLOCK, engine, script: { dnsLagMs: lagMs } });
  try {
    if (!json) {
      console.log(paint('bold', `Aurora-like lab: ${lab.clusterEndpoint} -> CNAME ${lab.instanceEndpoints[0]} (writer ${lab.apiWriter})`));
      console.log(
        paint(
          'dim',
          `  instances ${lab.instances.map((i) => `${i.name} ${i.host}:${i.port}`).join(', ')}; ${engine}; DNS ${lab.dns.address}; injected DNS lag ${lagMs} ms`,
        ),
      );
      console.log(paint('bold', '\nFailing over (fake FailoverDBCluster); live timeline:'));
    }
    const deps: DrillDeps = {
      writers: lab,
      starter: lab,
      sampler: defaultSamplerDeps({ host: lab.clusterEndpoint, resolvers: [lab.dns.address], engine, port: lab.port, writers: lab }),
    };
    const result = await runDrill({ cluster: lab.clusterIdentifier, host: lab.clusterEndpoint, deadlineMs: lagMs + SAMPLER_DEFAULTS.deadlineMs }, deps, {
      onStep: liveStep(json, colour),
    });
    const injected = lab.injected!;
    const injectedLagMs =
      injected.dnsMovedAt !== undefined && injected.swappedAt !== undefined ? Math.round(injected.dnsMovedAt - injected.swappedAt) : undefined;
    const code = report(result, json, { lab: { injectedLagMs: lagMs, actualLagMs: injectedLagMs } });
    if (values.report) {
      await writeFailoverReport(values.report, result.timeline, DEMO_AURORA_USAGE);
      if (!json) console.log(`\n  the picture: ${values.report} (open it in a browser)`);
    }
    if (!json && result.timeline.dnsLagMs !== undefined) {
      const error = Math.round(result.timeline.dnsLagMs - lagMs);
      console.log(`\n  injected lag ${lagMs} ms, measured ${Math.round(result.timeline.dnsLagMs)} ms (${error >= 0 ? '+' : ''}${error} ms)`);
      console.log(paint('dim', '\nNext: "ipdrift failover-drill --cluster ID" prints the plan for a real cluster; add --yes to run it.'));
    }
    return code;
  } finally {
    await lab.stop();
  }
}
