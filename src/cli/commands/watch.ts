/** `ipdrift watch`: repeated checks; prints alert transitions as they happen. A signal stops it, 128+N. */
import { setTimeout as sleep } from 'node:timers/promises';
import { formatTransition } from '../../adapters/local/console.ts';
import { prepareStateDir } from '../../adapters/local/state-dir.ts';
import { DURATION_LIMITS, parse, parseCount, parseDuration } from '../args.ts';
import { EXIT } from '../errors.ts';
import { loadConfigFile } from '../load-config.ts';
import { CHECK_OPTIONS, checkOnce, exitFor, isSaveError, reportJson } from './check.ts';
import { constants as osConstants } from 'node:os';
import { readPasswordFile } from '../db-password.ts';
import { printable } from '../../adapters/local/printable.ts';

export const WATCH_USAGE = `Usage: ipdrift watch --config FILE [--interval 10s] [--count N] [--state DIR] [--json]

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
  -h, --help           this help

Exit status: as check's, by the last check (with --count); stopped by a signal, 128+N
(130 for Ctrl-C, 143 for SIGTERM); 3 when a state could not be saved (it stops then).

Examples:
  ipdrift watch -c ipdrift.json                  a check every 10 s until Ctrl-C
  ipdrift watch -c ipdrift.json -i 1m30s -q      every 90 s, only the notices
  ipdrift watch -c ipdrift.json -n 3             three checks; exit like the last one`;

export async function watchCommand(argv: string[]): Promise<number> {
  const { values } = parse(
    argv,
    { ...CHECK_OPTIONS, interval: { type: 'string', short: 'i', default: '10s' }, count: { type: 'string', short: 'n' } },
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
  await prepareStateDir(values.state!);
  const stop = new AbortController();
  // A signal stops the watch (the check in flight is cut at its next step); the exit says which, 128+N.
  let received: 'SIGINT' | 'SIGTERM' | undefined;
  const on = (signal: 'SIGINT' | 'SIGTERM') => () => {
    received = signal;
    stop.abort();
  };
  const onInt = on('SIGINT');
  const onTerm = on('SIGTERM');
  process.once('SIGINT', onInt);
  process.once('SIGTERM', onTerm);
  let exit: number = EXIT.ok;
  const colour = Boolean(process.stdout.isTTY) && !process.env.NO_COLOR;
  try {
    for (let n = 1; n <= count && !stop.signal.aborted; n++) {
      const started = Date.now();
      const report = await checkOnce(
        config,
        { state: values.state!, insecureTls: values['insecure-tls']!, signal: stop.signal, ...(dbPassword ? { dbPassword } : {}) },
        (t) => {
          if (!values.json) console.log(`${new Date().toISOString()} ${formatTransition(t, colour)}`);
        },
      );
      if (values.json) console.log(JSON.stringify(reportJson(report)));
      else if (report.transitions.length === 0 && !values.quiet)
        console.log(`${report.finishedAt} check ${n}: ${report.findings.length} finding(s), no change (${report.durationMs} ms)`);
      for (const e of report.errors) console.error(`${isSaveError(e) ? 'error' : 'warning'}: ${printable(e)}`);
      // State that cannot be saved will not be saved next time either: stop, as check does.
      if (report.unsaved.length > 0) return EXIT.incomplete;
      // watch --count exits like its last check.
      exit = exitFor(report);
      if (n < count) await sleep(Math.max(0, intervalMs - (Date.now() - started)), undefined, { signal: stop.signal }).catch(() => undefined);
    }
  } finally {
    process.off('SIGINT', onInt);
    process.off('SIGTERM', onTerm);
  }
  return received ? SIGNAL_EXIT_BASE + osConstants.signals[received] : exit;
}

/** A process stopped by signal N exits 128+N (the shell's convention: 130 for Ctrl-C, 143 for SIGTERM). */
const SIGNAL_EXIT_BASE = 128;
