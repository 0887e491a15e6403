/** Text and JSON forms of a cost estimate (`ipdrift cost`). Pure. */
import type { CostEstimate, CostLine } from '../planning/cost/estimate.ts';
import { COST_ASSUMPTIONS } from '../planning/cost/estimate.ts';
import type { recommendMemory } from '../planning/cost/estimate.ts';
import type { PriceTable } from '../planning/cost/prices.ts';

/** What the text needs besides the estimate. */
export interface FormatOptions {
  /** Where the targets came from (the config path). */
  readonly source: string;
  readonly prices: PriceTable;
  /** The region asked for with --region, when it is not the prices' region. */
  readonly region?: string;
  /** The same estimate under the other metric set, for the comparison line. */
  readonly alternative?: CostEstimate;
  /** The memory sizes compared by the CPU model (absent with --duration-ms). */
  readonly memory?: ReturnType<typeof recommendMemory>;
}

const LABEL_WIDTH = 64;
const QTY_WIDTH = 22;
const USD_WIDTH = 10;
const PERCENT = 100;

const int = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
const dec = new Intl.NumberFormat('en-US', { maximumFractionDigits: 3 });
const small = new Intl.NumberFormat('en-US', { maximumSignificantDigits: 2 });

/** Dollars with cents; a non-zero amount under a cent shows as "<0.01" rather than a misleading 0.00. */
export function money(usd: number): string {
  if (usd > 0 && usd < 0.005) return '<0.01';
  return usd.toFixed(2);
}

/** Units that read the same for any quantity. */
const INVARIANT_UNITS: ReadonlySet<string> = new Set(['GB', 'GB-s', 'WRU', 'RRU']);

/** "1 metric", "17 metrics", "3 publishes", "0.05 GB". */
export function quantity(l: Pick<CostLine, 'quantity' | 'unit'>): string {
  const q = Number.isInteger(l.quantity) || l.quantity >= 100 ? int.format(l.quantity) : l.quantity < 1 ? small.format(l.quantity) : dec.format(l.quantity);
  const unit = l.quantity === 1 || INVARIANT_UNITS.has(l.unit) ? l.unit : l.unit.endsWith('sh') ? `${l.unit}es` : `${l.unit}s`;
  return `${q} ${unit}`;
}

const row = (label: string, qty: string, usd: string, extra = '') =>
  `${label.padEnd(LABEL_WIDTH)}${qty.padStart(QTY_WIDTH)}${usd.padStart(USD_WIDTH)}${extra ? `  ${extra}` : ''}`;

function types(e: CostEstimate): string {
  return Object.entries(e.targetsByType)
    .map(([type, count]) => `${count} ${type}`)
    .join(', ');
}

/** The estimate as the lines `ipdrift cost` prints. */
export function formatEstimate(e: CostEstimate, opts: FormatOptions): string {
  const out: string[] = [];
  const p = opts.prices;
  out.push(
    `ipdrift cost: ${opts.source}: ${e.targets} target${e.targets === 1 ? '' : 's'} (${types(e)}), metrics "${e.metricSet}", a check every ${e.intervalMinutes} min (${int.format(e.checksPerMonth)} a month)`,
  );
  out.push(`prices: ${p.region} as of ${p.date} (${p.source}); no free tier applied`);
  if (opts.region !== undefined && opts.region !== p.region)
    out.push(`note: prices are ${p.region}'s, not ${opts.region}'s; pass --prices FILE with ${opts.region}'s to be exact`);
  const invocation = e.shards.fanOut
    ? `fanned out: ${e.shards.count} shards of up to ${e.shards.size} targets (largest ${e.shards.largest}), one Step Functions execution per check`
    : `one invocation per check (up to ${e.shards.size} targets before fanning out)`;
  out.push(
    `Lambda: ${e.memoryMb} MB arm64, ${invocation}; ${e.invocationMs} ms billed per invocation (${e.durationSource === 'flag' ? '--duration-ms' : `model: ${COST_ASSUMPTIONS.check.source}; --duration-ms to use yours`})`,
  );
  out.push('');
  out.push(row('', 'per month', '$'));
  for (const l of e.lines) {
    out.push(row(l.label, quantity(l), money(l.usd), l.note ?? ''));
    for (const b of l.breakdown ?? []) out.push(row(`    ${b.label}${b.note ? ` (${b.note})` : ''}`, quantity(b), money(b.usd)));
  }
  out.push('-'.repeat(LABEL_WIDTH + QTY_WIDTH + USD_WIDTH));
  out.push(row('total', '', money(e.totalUsd)));
  out.push(row('per target', '', money(e.perTargetUsd), `(its own ${money(e.perTargetOwnUsd)} + a share of the stack's fixed ${money(e.fixedUsd)})`));
  out.push(
    `  each target's own, by type: ${Object.entries(e.perTypeOwnUsd)
      .map(([type, usd]) => `${type} ${money(usd)}`)
      .join(', ')}`,
  );
  out.push(
    row(
      `CloudWatch Synthetics instead: a canary per target, ${int.format(e.canary.runs)} runs`,
      '',
      money(e.canary.usd),
      `(${money(e.canary.perTargetUsd)} per target; ipdrift is ${Math.round((PERCENT * e.totalUsd) / e.canary.usd)} % of it)`,
    ),
  );
  out.push('');
  out.push(...goalLines(e, opts.alternative));
  if (opts.memory) out.push(...memoryLines(e, opts.memory));
  return out.join('\n');
}

/** Which memory size to choose: Lambda's CPU share grows with memory, so less is cheaper per ms but slower. */
function memoryLines(e: CostEstimate, m: ReturnType<typeof recommendMemory>): string[] {
  const budget = `${Math.round(m.budgetMs / 1000)} s`;
  const head = m.recommended
    ? `memory: ${m.recommended.memoryMb} MB is the cheapest that keeps a check under ${budget} (half the interval): ${m.recommended.invocationMs} ms predicted, ${money(m.recommended.totalUsd)} a month${m.recommended.memoryMb === e.memoryMb ? ' (the size priced above)' : ` (pass --memory-mb ${m.recommended.memoryMb} to price it)`}`
    : `memory: no size keeps a check under ${budget} (half the interval) by the model: fan out (smaller shardSize) or check less often`;
  const table = m.options.map((o) => `${o.memoryMb} MB ${o.invocationMs} ms ${money(o.totalUsd)}${o.fits ? '' : ' (too slow)'}`).join('; ');
  return [head, `  by the CPU model (${COST_ASSUMPTIONS.check.source}; one vCPU at ${COST_ASSUMPTIONS.lambdaMbPerVcpu} MB): ${table}`];
}

function goalLines(e: CostEstimate, alt: CostEstimate | undefined): string[] {
  const limit = `$${e.goal.usdPerTargetMonth.toFixed(2)}`;
  const out: string[] = [];
  const head = `goal <= ${limit} per target-month all-in at 1-minute checks`;
  if (!e.goal.applies) out.push(`${head}: not judged at a ${e.intervalMinutes}-minute interval (${money(e.perTargetUsd)} per target here)`);
  else out.push(`${head}: ${e.goal.met ? 'met' : 'MISSED'} (${money(e.perTargetUsd)})`);
  const metrics = e.lines.find((l) => l.id === 'metrics');
  if (metrics && metrics.usd > 0) {
    const perTarget = metrics.usd / e.targets;
    out.push(`  custom metrics are ${money(perTarget)} of it: ${(metrics.breakdown ?? []).map((b) => `${b.label} ${money(b.usd / e.targets)}`).join(', ')}`);
  }
  if (!e.goal.met && e.perTargetOwnUsd <= e.goal.usdPerTargetMonth) {
    out.push(
      `  the stack's fixed ${money(e.fixedUsd)} (dashboard, topic key, monitor alarms, requests) is shared by ${e.targets} target${e.targets === 1 ? '' : 's'}; each target's own cost is ${money(e.perTargetOwnUsd)}`,
    );
  }
  if (alt) {
    const verdict = alt.goal.applies ? (alt.goal.met ? 'meets the goal' : 'misses the goal') : 'not judged';
    out.push(
      `  with "metrics": "${alt.metricSet}": ${money(alt.totalUsd)} a month, ${money(alt.perTargetUsd)} per target (its own ${money(alt.perTargetOwnUsd)}): ${verdict}`,
    );
  }
  return out;
}

/** The `--json` document. */
export function estimateJson(e: CostEstimate, opts: FormatOptions) {
  return {
    source: opts.source,
    prices: { region: opts.prices.region, date: opts.prices.date, source: opts.prices.source },
    ...(opts.region !== undefined ? { region: opts.region } : {}),
    ...e,
    ...(opts.memory ? { memory: opts.memory } : {}),
    ...(opts.alternative
      ? {
          alternative: {
            metricSet: opts.alternative.metricSet,
            totalUsd: opts.alternative.totalUsd,
            perTargetUsd: opts.alternative.perTargetUsd,
            perTargetOwnUsd: opts.alternative.perTargetOwnUsd,
            goalMet: opts.alternative.goal.met,
          },
        }
      : {}),
  };
}
