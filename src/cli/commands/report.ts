/** `ipdrift report`: one self-contained HTML picture of what the saved history knows. */
import type { Config } from '../../core/config.ts';
import type { PictureTarget } from '../../presentation/picture.ts';
import { FileStore } from '../../adapters/local/file-store.ts';
import { renderReport } from '../../adapters/local/report-html.ts';
import { parse, parseDuration } from '../args.ts';
import { systemClock } from '../clock.ts';
import { EXIT, UsageError } from '../errors.ts';
import { loadConfigFile } from '../load-config.ts';
import { pictureFromStore, writeReport } from '../report-file.ts';

export const REPORT_USAGE = `Usage: ipdrift report [--state DIR] [--config FILE] [--out FILE] [--since DUR]

Writes one self-contained HTML file (no network needed to open it: inline CSS and SVG) with, for
the chosen window:
  - per ELB target, one lane per address: in DNS, retired and draining, silent, released,
    the checks as ticks and the address-set changes marked;
  - per web tier, its incidents as bands on its upstream's time axis, with what on-call was
    told (hover, and the table below);
  - per Aurora target, each failover as a timeline with the DNS lag highlighted;
  - a summary: incidents opened and resolved, messages to on-call, time to detection after the TTL.

Options:
  -s, --state DIR    the state directory of "check"/"watch" (default .ipdrift)
  -c, --config FILE  the targets and which web tier sits behind which ELB (default: every
                     target with state in DIR; web tiers then get a section of their own)
  -o, --out FILE     where to write (default ipdrift-report.html); an existing file is replaced
                     only when it is an earlier report
      --since DUR    how far back, e.g. 90m, 24h, 7d (at most 400d); default: the last 24 h,
                     starting just before its first record (a short incident is drawn wide)
  -h, --help         this help

Examples:
  ipdrift report                                   the last day of .ipdrift, fitted to its records
  ipdrift report -c ipdrift.json --since 7d -o week.html

Exit status: 0 written; 2 on a usage, config or state error, or when --out names a file that is
not an earlier report (it is kept as it was).`;

/** `--since` at most: history older than this is gone anyway (DynamoDB TTL, file cap). */
const MAX_SINCE_MS = 400 * 86_400_000;
/** Without `--since`: the last day, fitted to its first record. */
const DEFAULT_SINCE_MS = 86_400_000;

export async function reportCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parse(
    argv,
    {
      state: { type: 'string', short: 's', default: '.ipdrift' },
      config: { type: 'string', short: 'c' },
      out: { type: 'string', short: 'o', default: 'ipdrift-report.html' },
      since: { type: 'string' },
    },
    REPORT_USAGE,
  );
  if (values.help) {
    console.log(REPORT_USAGE);
    return EXIT.ok;
  }
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`, REPORT_USAGE);
  const sinceMs = values.since === undefined ? DEFAULT_SINCE_MS : parseDuration(values.since, '--since', REPORT_USAGE, MAX_SINCE_MS);
  const store = new FileStore(values.state!);
  const targets = values.config ? targetsOf(await loadConfigFile(values.config, REPORT_USAGE)) : await savedTargets(store);
  if (targets.length === 0)
    throw new UsageError(`no target has state in ${values.state} (run "ipdrift check --config FILE" first, or pass --state)`, REPORT_USAGE);
  const to = systemClock.now();
  const picture = await pictureFromStore(store, targets, { from: new Date(to.getTime() - sinceMs), to, fit: values.since === undefined });
  const html = renderReport(picture, { title: 'ipdrift report', generatedAt: to, source: `state in ${values.state}` });
  await writeReport(values.out!, html, REPORT_USAGE);
  const t = picture.totals;
  console.log(
    `wrote ${values.out}: ${targets.length} target(s), ${t.incidentsOpened} incident(s) opened, ${t.pages} message(s) to on-call; open it in a browser (no network needed)`,
  );
  return EXIT.ok;
}

/** The config's targets, with each web tier's upstream. */
export function targetsOf(config: Pick<Config, 'targets'>): PictureTarget[] {
  return config.targets.map((t) => ({ name: t.name, type: t.type, ...(t.type === 'web-tier' ? { upstream: t.upstream } : {}) }));
}

/** Without a config: every target with state, typed by what its state holds. */
async function savedTargets(store: FileStore): Promise<PictureTarget[]> {
  const names = await store.targets();
  const states = await store.load(names);
  return names.flatMap((name) => {
    const s = states.get(name);
    if (!s) return [];
    const type = s.aurora ? 'aurora' : s.addresses.length === 0 && (s.latencies || s.webServer) ? 'web-tier' : 'elb';
    return [{ name, type } as PictureTarget];
  });
}
