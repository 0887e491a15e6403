/** `ipdrift watch`: repeated checks; prints alert transitions as they happen. A signal stops it, 128+N. */
import { rm } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { formatTransition } from '../../adapters/local/console.ts';
import { prepareStateDir } from '../../adapters/local/state-dir.ts';
import { DURATION_LIMITS, parse, parseCount, parseDuration } from '../args.ts';
import { EXIT, UsageError } from '../errors.ts';
import { closeServer, parseListen, serveMetrics, writeMetricsFile } from '../metrics-endpoint.ts';
import { cliDelivery } from '../notify-setup.ts';
import { loadConfigFile } from '../load-config.ts';
import { CHECK_OPTIONS, addProblem, checkOnce, exitFor, isSaveError, reportJson } from './check.ts';
import { stopOnSignals } from '../signals.ts';
import { readPasswordFile } from '../db-password.ts';
import { printable } from '../../adapters/local/printable.ts';

export const WATCH_USAGE = `Usage: ipdrift watch --config FILE [--interval 10s] [--count N] [--state DIR] [--json]
                     [--metrics-listen ADDR:PORT] [--metrics-file PATH]

Runs a check every interval and prints alert transitions (opened, reminder, resolved, events)
as they happen. Ctrl-C or SIGTERM stops it: the check in flight is cut at its next step.

Options:
  -c, --config FILE    configuration (JSON)
  -i, --interval DUR   time between check starts (default 10s)
  -n, --count N        stop after N checks (default: run until Ctrl-C)
  -s, --state DIR      state directory (default .ipdrift)
      --json           one JSON line per check
  -q, --quiet          print only the notices (no line for a check that changed nothing)
      --insecure-tls   accept self-signed certificates (names are still checked)
      --db-password-file FILE  as for "check": log in to Aurora targets with a "login"
      --metrics-listen ADDR:PORT  serve Prometheus metrics at http://ADDR:PORT/metrics
                       ("9464" alone listens on 127.0.0.1; README "With Prometheus")
      --metrics-file PATH  write the same text to PATH after each check (node_exporter's
                       textfile collector: a .prom file in its directory); removed when a
                       signal stops watch, kept after --count
  -h, --help           this help

Exit status: as check's, by the last check (with --count); stopped by a signal, 128+N
(130 for Ctrl-C, 143 for SIGTERM); 3 when a state could not be saved (it stops then).

Examples:
  ipdrift watch -c ipdrift.json                  a check every 10 s until Ctrl-C
  ipdrift watch -c ipdrift.json -i 1m30s -q      every 90 s, only the notices
  ipdrift watch -c ipdrift.json -n 3             three checks; exit like the last one
  ipdrift watch -c ipdrift.json --metrics-listen 127.0.0.1:9464   scrape it with Prometheus`;

export async function watchCommand(argv: string[]): Promise<number> {
  const { values } = parse(
    argv,
    {
      ...CHECK_OPTIONS,
      interval: { type: 'string', short: 'i', default: '10s' },
      count: { type: 'string', short: 'n' },
      'metrics-listen': { type: 'string' },
      'metrics-file': { type: 'string' },
    },
    WATCH_USAGE,
  );
  if (values.help) {
    console.log(WATCH_USAGE);
    return EXIT.ok;
  }
  const config = await loadConfigFile(values.config, WATCH_USAGE);
  const intervalMs = parseDuration(values.interval!, '--interval', WATCH_USAGE, DURATION_LIMITS.intervalMaxMs);
  const count = values.count ? parseCount(values.count, '--count', WATCH_USAGE) : Infinity;
  const dbPassword = values['db-password-file'] ? await readPasswordFile(values['db-password-file'], WATCH_USAGE) : undefined;
  const listen = values['metrics-listen'] !== undefined ? parseListen(values['metrics-listen'], WATCH_USAGE) : undefined;
  const metricsFile = values['metrics-file'];
  await prepareStateDir(values.state!);
  const colour = Boolean(process.stdout.isTTY) && !process.env.NO_COLOR;
  const delivery = await cliDelivery(config, values.state!, WATCH_USAGE, (t) => {
    if (!values.json) console.log(`${new Date().toISOString()} ${formatTransition(t, colour)}`);
  });
  const exporter =
    listen || metricsFile !== undefined ? new (await import('../../adapters/local/prometheus.ts')).PromExporter(config.targets, delivery.sinkNames) : undefined;
  // Before the first check: a file that cannot be written or a port in use is a usage error now.
  if (exporter && metricsFile !== undefined)
    await writeMetricsFile(metricsFile, exporter).catch((err: Error) => {
      throw new UsageError(`--metrics-file ${metricsFile}: cannot write (${(err as NodeJS.ErrnoException).code ?? err.message})`, WATCH_USAGE);
    });
  const served = exporter && listen ? await serveMetrics(listen, exporter, WATCH_USAGE) : undefined;
  if (served) console.error(`metrics: ${served.url}`);
  // A signal stops the watch (the check in flight is cut at its next step); the exit says which, 128+N.
  const stop = stopOnSignals();
  let exit: number = EXIT.ok;
  try {
    for (let n = 1; n <= count && !stop.signal.aborted; n++) {
      const started = Date.now();
      const { report, flushes } = await checkOnce(
        config,
        { state: values.state!, insecureTls: values['insecure-tls']!, signal: stop.signal, ...(dbPassword ? { dbPassword } : {}) },
        delivery,
      );
      if (exporter) {
        exporter.record(report, flushes);
        if (metricsFile !== undefined)
          await writeMetricsFile(metricsFile, exporter).catch((err: Error) => addProblem(report, 'metrics', `metrics file ${metricsFile}: ${err.message}`));
      }
      if (values.json) console.log(JSON.stringify(reportJson(report)));
      else if (report.transitions.length === 0 && !values.quiet)
        console.log(`${report.finishedAt} check ${n}: ${report.findings.length} finding(s), no change (${report.durationMs} ms)`);
      for (const p of report.problems) console.error(`${isSaveError(p) ? 'error' : 'warning'}: ${printable(p.message)}`);
      // State that cannot be saved will not be saved next time either: stop, as check does.
      if (report.unsaved.length > 0) return EXIT.incomplete;
      // watch --count exits like its last check.
      exit = exitFor(report);
      if (n < count) await sleep(Math.max(0, intervalMs - (Date.now() - started)), undefined, { signal: stop.signal }).catch(() => undefined);
    }
  } finally {
    stop.dispose();
    if (served) await closeServer(served.server);
    // Stopped (a service stopping): its last figures are not today's (IpdriftNotChecking sees the file gone).
    // A run bounded by --count keeps its file: cron's `watch --count 1 --metrics-file` is a textfile of its own.
    if (stop.received() && metricsFile !== undefined) await rm(metricsFile, { force: true });
  }
  return stop.exitCode(exit);
}
