/** `ipdrift history TARGET`: address changes and alerts of one target, newest first. */
import { FileStore } from '../../adapters/local/file-store.ts';
import { parse, parseCount } from '../args.ts';
import { EXIT, UsageError } from '../errors.ts';
import { printable } from '../../adapters/local/printable.ts';
import type { AlertState } from '../../core/types.ts';

export const HISTORY_USAGE = `Usage: ipdrift history TARGET [--state DIR] [--limit 50] [--json]

Shows what changed for one target (addresses that came and left, alerts opened), newest first,
and the addresses it holds now with first/last seen and retirement times.

Options:
  -s, --state DIR   the state directory of "check"/"watch" (default .ipdrift)
      --limit N     changes shown at most (default 50)
      --json        {"target","addresses","alerts","changes"} as one JSON document
  -h, --help        this help

Examples:
  ipdrift history app-alb
  ipdrift history web --limit 10 --json

Exit status: 0; 2 on a usage error or when TARGET has no state in DIR.`;

export async function historyCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parse(
    argv,
    { state: { type: 'string', short: 's', default: '.ipdrift' }, limit: { type: 'string', default: '50' }, json: { type: 'boolean', default: false } },
    HISTORY_USAGE,
  );
  if (values.help) {
    console.log(HISTORY_USAGE);
    return EXIT.ok;
  }
  if (positionals.length !== 1) throw new UsageError('expected exactly one TARGET', HISTORY_USAGE);
  const target = positionals[0]!;
  const store = new FileStore(values.state!);
  const limit = parseCount(values.limit!, '--limit', HISTORY_USAGE);
  const [changes, states] = await Promise.all([store.history(target, limit), store.load([target])]);
  const state = states.get(target);
  if (!state) throw new UsageError(`no state for target "${target}" in ${values.state} (run a check first, or pass --state)`, HISTORY_USAGE);
  if (values.json) {
    console.log(JSON.stringify({ target, addresses: state.addresses, alerts: Object.values(state.alerts).map(withSchema1Fields), changes }, null, 2));
    return EXIT.ok;
  }
  console.log(`${target}: ${state.addresses.length} address(es) known`);
  for (const a of state.addresses) {
    const status = a.retiredAt ? `retired ${a.retiredAt}` : 'current';
    const probe = a.lastProbe ? (a.lastProbe.ok ? `ok ${a.lastProbe.latencyMs} ms` : `FAIL ${a.lastProbe.error ?? ''}`) : 'not probed';
    console.log(printable(`  ${a.address.padEnd(40)} ${status.padEnd(34)} first ${a.firstSeen}  last probe: ${probe}`));
  }
  console.log(changes.length ? '\nchanges (newest first):' : '\nno changes recorded');
  for (const c of changes) console.log(printable(`  ${c.at}  ${c.kind.padEnd(26)} ${c.summary}`));
  return EXIT.ok;
}

/**
 * An alert as `history --json` has always shown it: with `status` (state schema 2), and the
 * schema-1 fields scripts may read (`pending`, `resolving`, `event`), derived from it. Deprecated:
 * read `status` (README, "Migration (state schema 2)").
 */
function withSchema1Fields(a: AlertState) {
  return {
    ...a,
    ...(a.status === 'pending' ? { pending: a.seenChecks ?? 1 } : {}),
    ...(a.status === 'resolving' ? { resolving: true } : {}),
    ...(a.status === 'event' ? { event: true } : {}),
  };
}
