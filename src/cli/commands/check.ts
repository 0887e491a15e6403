/** `ipdrift check`: one check of every target in a config. */
import { runCheck } from '../../core/check.ts';
import type { Config } from '../../core/config.ts';
import type { FlowSource, ResolverLogSource } from '../../core/ports.ts';
import type { CheckReport } from '../../core/report.ts';
import { ProblemLog } from '../../core/problems.ts';
import type { CheckProblem, ProblemCode } from '../../core/problems.ts';
import { FileStore } from '../../adapters/local/file-store.ts';
import { prepareStateDir } from '../../adapters/local/state-dir.ts';
import { formatFindings, formatTransition } from '../../adapters/local/console.ts';
import type { DeliveryNotifier, SinkFlush } from '../../adapters/local/notify/delivery.ts';
import { cliDelivery } from '../notify-setup.ts';
import { DURATION_LIMITS, parse, parseDuration } from '../args.ts';
import { EXIT } from '../errors.ts';
import { stopOnSignals } from '../signals.ts';
import { loadConfigFile } from '../load-config.ts';
import { systemClock } from '../clock.ts';
import { printable } from '../../adapters/local/printable.ts';
import { cliSessionCheck, readPasswordFile } from '../db-password.ts';
import { FileFlowSource } from '../../adapters/local/flow-file.ts';
import { FileResolverSource } from '../../adapters/local/resolver-file.ts';

/**
 * The config's flow and resolver log sources: files, or CloudWatch Logs (the SDK loaded only
 * then: the CLI otherwise never loads it).
 */
async function evidenceSourcesOf(config: Config): Promise<{ flowSource?: FlowSource; resolverSource?: ResolverLogSource }> {
  const f = config.flowLogs;
  const r = config.resolverLogs;
  const flowSource = !f
    ? undefined
    : f.source === 'file'
      ? new FileFlowSource(f.path)
      : new (await import('../../adapters/aws/flow-insights.ts')).LogsInsightsFlowSource(f.logGroup);
  const resolverSource = !r
    ? undefined
    : r.source === 'file'
      ? new FileResolverSource(r.path)
      : new (await import('../../adapters/aws/resolver-insights.ts')).LogsInsightsResolverSource(r.logGroup);
  return { ...(flowSource ? { flowSource } : {}), ...(resolverSource ? { resolverSource } : {}) };
}

export const CHECK_USAGE = `Usage: ipdrift check --config FILE [--state DIR] [--json] [--deadline 25s] [--insecure-tls]
                     [--db-password-file FILE]

Runs one check of every target: resolves each name, diffs against the saved addresses,
probes every current and recently retired address, and reports findings. The notices it
causes are printed, and delivered to the config's "notify" sinks (webhook, exec, alertmanager);
one a sink did not take waits in the state directory for the next check.

Options:
  -c, --config FILE   configuration (JSON; see README "Configuration")
  -s, --state DIR     where address history and alerts are kept (default .ipdrift)
      --json          print {"findings":[...],"targets":[...]} on stdout
  -q, --quiet         print only the notices this check caused and warnings (for cron)
      --deadline DUR  whole-check deadline, e.g. 25s (default: the config's deadlineMs)
      --insecure-tls  accept self-signed certificates (names are still checked)
      --db-password-file FILE
                      log in to Aurora targets that have a "login" with this password and ask
                      whether the session can write (endpoint-reaches-reader); one line, chmod 600
  -h, --help          this help

Exit status (the same for watch --count, by its last check):
  0  no paging alert is open (a warning still waiting its openAfterChecks pages nobody)
  1  a paging alert is open: a warning or critical incident, opened and not resolved
  2  usage, config or state error (a state directory that cannot hold the state, a corrupt file)
  3  the check could not complete: the deadline cut a target, or its state could not be saved
     (its path and why are on stderr)
  128+N  stopped by signal N (130 Ctrl-C, 143 SIGTERM): the check is cut at its next step and a
     notify command it started is stopped; a second Ctrl-C exits at once

Examples:
  ipdrift check -c ipdrift.json                         findings, notices, advice
  ipdrift check -c ipdrift.json -q || page-me           cron: quiet unless a notice; exit 1 pages
  ipdrift check -c ipdrift.json --json | jq '.findings[].kind'`;

/** Options shared by check and watch. */
export const CHECK_OPTIONS = {
  config: { type: 'string', short: 'c' },
  state: { type: 'string', short: 's', default: '.ipdrift' },
  json: { type: 'boolean', default: false },
  deadline: { type: 'string' },
  'insecure-tls': { type: 'boolean', default: false },
  'db-password-file': { type: 'string' },
  quiet: { type: 'boolean', short: 'q', default: false },
} as const;

/**
 * Exit status for a report (README, "CLI"; the contract a cron user reads): 3 when the check could
 * not complete (a target the deadline cut, a state that could not be saved: never a silent 0),
 * else 1 while a paging alert is open (opened, not pending, not resolved), else 0. A first sighting
 * of a warning that waits for `openAfterChecks` pages nobody, so it exits 0.
 */
export const exitFor = (report: CheckReport) =>
  report.unsaved.length > 0 || report.targets.some((t) => !t.completed) ? EXIT.incomplete : report.openPaging.length > 0 ? EXIT.findings : EXIT.ok;

/** A problem that lost a target's state (an error, exit 3); the rest are warnings. */
export const isSaveError = (p: CheckProblem) => p.code === 'save';

/** Adds a problem the CLI met after the engine's check (a delivery, the metrics file) to the report, as the engine adds its own. */
export function addProblem(report: CheckReport, code: ProblemCode, message: string): void {
  new ProblemLog(report.problems, report.errors).add(code, message);
}

/** The `--json` document. */
export function reportJson(report: CheckReport) {
  return {
    startedAt: report.startedAt,
    durationMs: report.durationMs,
    findings: report.findings.map(({ target, kind, severity, summary, evidence, advice }) => ({ target, kind, severity, summary, evidence, advice })),
    transitions: report.transitions.map(({ type, target, kind, severity, summary }) => ({ type, target, kind, severity, summary })),
    targets: report.targets.map((t) => ({
      target: t.target,
      type: t.type,
      current: t.current,
      retired: t.retired,
      metrics: t.metrics,
      completed: t.completed,
    })),
    unsaved: report.unsaved,
    errors: report.errors,
    problems: report.problems,
  };
}

/**
 * Delivery after a check gets what is left of its deadline, and at least this (a check that used
 * its whole deadline still delivers what it found).
 */
const MIN_DELIVERY_BUDGET_MS = 1000;

/**
 * Runs one check with the file store, then delivers the queued notices to the config's sinks
 * (README, "Notifications from the CLI"); a delivery problem is one of the report's errors.
 */
export async function checkOnce(
  config: Config,
  opts: { state: string; deadlineMs?: number; insecureTls: boolean; signal?: AbortSignal; dbPassword?: string },
  delivery: DeliveryNotifier,
): Promise<{ report: CheckReport; flushes: SinkFlush[] }> {
  const report = await runCheck(config, {
    store: new FileStore(opts.state),
    notifier: delivery,
    clock: systemClock,
    insecureTls: opts.insecureTls,
    ...(opts.deadlineMs ? { deadlineMs: opts.deadlineMs } : {}),
    ...(opts.signal ? { signal: opts.signal } : {}),
    ...(opts.dbPassword ? { sessionCheck: cliSessionCheck(opts.dbPassword) } : {}),
    ...(await evidenceSourcesOf(config)),
  });
  const budget = Math.max(MIN_DELIVERY_BUDGET_MS, (opts.deadlineMs ?? config.deadlineMs) - report.durationMs);
  const flushes = await delivery.flush(report, budget, opts.signal);
  for (const f of flushes) for (const e of f.errors) addProblem(report, 'delivery', `notify ${f.sink}: ${e}`);
  return { report, flushes };
}

export async function checkCommand(argv: string[]): Promise<number> {
  const { values } = parse(argv, CHECK_OPTIONS, CHECK_USAGE);
  if (values.help) {
    console.log(CHECK_USAGE);
    return EXIT.ok;
  }
  const config = await loadConfigFile(values.config, CHECK_USAGE);
  const deadlineMs = values.deadline ? parseDuration(values.deadline, '--deadline', CHECK_USAGE, DURATION_LIMITS.deadlineMaxMs) : undefined;
  const dbPassword = values['db-password-file'] ? await readPasswordFile(values['db-password-file'], CHECK_USAGE) : undefined;
  // Before any work: a state directory that cannot hold the result fails now, not after the check.
  await prepareStateDir(values.state!);
  const delivery = await cliDelivery(config, values.state!, CHECK_USAGE, () => undefined);
  // Ctrl-C cuts the check at its next step and stops a notify command it started (its own process group, which the terminal's signal does not reach).
  const stop = stopOnSignals();
  const { report } = await checkOnce(
    config,
    {
      state: values.state!,
      insecureTls: values['insecure-tls']!,
      signal: stop.signal,
      ...(deadlineMs ? { deadlineMs } : {}),
      ...(dbPassword ? { dbPassword } : {}),
    },
    delivery,
  ).finally(() => stop.dispose());
  // Whatever the output format, a lost save is said on stderr.
  for (const p of report.problems.filter(isSaveError)) console.error(`error: ${printable(p.message)}`);
  const colour = Boolean(process.stdout.isTTY) && !process.env.NO_COLOR;
  // The notices this check sent (as the Lambda would to SNS): a cron user tells a new incident from a running one.
  const notices = () => {
    for (const t of report.transitions) console.log(`-> ${formatTransition(t, colour)}`);
  };
  const warnings = () => {
    for (const p of report.problems.filter((x) => !isSaveError(x))) console.error(`warning: ${printable(p.message)}`);
  };
  if (values.json) console.log(JSON.stringify(reportJson(report), null, 2));
  else if (values.quiet) {
    // For cron: only what changed for on-call (the notices) and the problems; the exit status says the rest.
    notices();
    warnings();
  } else {
    for (const t of report.targets) {
      const addr =
        t.type === 'web-tier'
          ? t.web
            ? `${t.web.ok ? 'ok' : 'FAIL'} ${t.web.status ?? ''} ${t.web.latencyMs} ms${t.web.echo?.ok ? `, upstream ${t.web.echo.address}` : ''}`
            : ''
          : `${t.current.length} current, ${t.retired.length} retired`;
      console.log(`${t.target.padEnd(20)} ${t.type.padEnd(9)} ${addr}`);
    }
    console.log('');
    console.log(formatFindings(report.findings, colour));
    notices();
    warnings();
    console.log(`\nchecked ${report.targets.length} target(s) in ${report.durationMs} ms; state in ${values.state}`);
  }
  return stop.exitCode(exitFor(report));
}
