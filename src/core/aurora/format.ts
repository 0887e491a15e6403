/**
 * The failover timeline for people: one line per step (live output), a table with the summary
 * (CLI, SNS notice), and a JSON document with ISO times (`--json`, history). Pure.
 */
import type { FailoverTimeline, TimelineStep } from './timeline.ts';
import { MS_PER_SECOND } from '../time-units.ts';

/** Width of the offset column: "+120000 ms". */
const OFFSET_WIDTH = 10;

const iso = (ms: number) => new Date(Math.round(ms)).toISOString();
const rounded = (ms: number) => Math.round(ms);
const seconds = (ms: number) => `${(ms / MS_PER_SECOND).toFixed(ms < 10 * MS_PER_SECOND ? 2 : 1)} s`;

/** `+   3412 ms  DNS names the new writer  (sampled every 250 ms)  orders... -> 10.0.2.15`. */
export function formatStep(s: TimelineStep): string {
  const offset = s.offsetMs === undefined ? 'not seen'.padStart(OFFSET_WIDTH) : `+${rounded(s.offsetMs)} ms`.padStart(OFFSET_WIDTH);
  const precision = s.precisionMs !== undefined && s.precisionMs > 0 ? `  (within ${rounded(s.precisionMs)} ms)` : '';
  return `${offset}  ${s.label}${precision}${s.detail ? `  ${s.detail}` : ''}`;
}

/** One line: the failover in figures. */
export function timelineSummary(t: FailoverTimeline): string {
  const who = t.newWriter ? `${t.previousWriter ?? '?'} -> ${t.newWriter}` : `writer ${t.previousWriter ?? '?'} did not change`;
  const lag = t.dnsLagMs !== undefined ? `DNS lag ${seconds(t.dnsLagMs)}` : 'DNS lag not measured';
  const outage = t.outage?.ms !== undefined ? `client outage ${seconds(t.outage.ms)}` : t.outage ? 'client outage still open' : 'no client outage seen';
  const end = t.settled ? 'settled' : t.endReason === 'aborted' ? 'aborted before settling' : `NOT settled within ${seconds(t.endedAt - t.startedAt)}`;
  return `${t.cluster}: ${who}; ${lag}; ${outage}; ${end}`;
}

/** The full text: steps, then the figures as a small table. */
export function formatTimeline(t: FailoverTimeline): string {
  const lines = [`Failover of ${t.cluster} (${t.host}), event at ${iso(t.eventAt)}`, ...t.steps.map((s) => `  ${formatStep(s)}`), ''];
  const rows: [string, string][] = [
    ['old writer', t.previousWriter ?? 'unknown'],
    ['new writer', t.newWriter ?? 'none seen'],
    ['DNS lag (API -> DNS)', t.dnsLagMs !== undefined ? `${rounded(t.dnsLagMs)} ms` : 'not measured'],
    [
      'client outage',
      t.outage?.ms !== undefined
        ? `${rounded(t.outage.ms)} ms (from ${t.outage.cause === 'probe-failed' ? 'first failed connection' : 'writer demotion'})`
        : t.outage
          ? 'still open'
          : 'none seen',
    ],
    ['result', t.settled ? 'settled' : t.endReason],
    [
      'samples (failed)',
      `DNS ${t.counts.dns} (${t.counts.dnsFailed}), API ${t.counts.api} (${t.counts.apiFailed}), probes ${t.counts.probes} (${t.counts.probesFailed})`,
    ],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  for (const [k, v] of rows) lines.push(`  ${k.padEnd(width)}  ${v}`);
  lines.push('', ...subSecondNote(t));
  return lines.join('\n');
}

/** The timeline as JSON-friendly data: ISO times, whole milliseconds. */
export function timelineDocument(t: FailoverTimeline) {
  return {
    cluster: t.cluster,
    host: t.host,
    previousWriter: t.previousWriter,
    newWriter: t.newWriter,
    eventAt: iso(t.eventAt),
    startedAt: iso(t.startedAt),
    endedAt: iso(t.endedAt),
    endReason: t.endReason,
    settled: t.settled,
    dnsLagMs: t.dnsLagMs === undefined ? undefined : rounded(t.dnsLagMs),
    outage: t.outage && {
      startAt: iso(t.outage.startAt),
      cause: t.outage.cause,
      endAt: t.outage.endAt === undefined ? undefined : iso(t.outage.endAt),
      ms: t.outage.ms === undefined ? undefined : rounded(t.outage.ms),
    },
    steps: t.steps.map((s) => ({
      step: s.step,
      label: s.label,
      at: s.at === undefined ? undefined : iso(s.at),
      offsetMs: s.offsetMs === undefined ? undefined : rounded(s.offsetMs),
      precisionMs: s.precisionMs === undefined ? undefined : rounded(s.precisionMs),
      detail: s.detail,
    })),
    counts: t.counts,
  };
}

/** Steps the bar draws, with their names in it. */
const BAR_STEPS = [
  ['api-writer-changed', 'API'],
  ['dns-names-new-writer', 'DNS'],
  ['first-probe-ok-new-writer', 'connect'],
] as const;
/** Characters of the longest bar. */
const BAR_WIDTH = 40;

/**
 * The failover as fixed-width bars from the event, one per step, so it reads the same in email
 * and chat:
 *
 *   API      |====>                                      +624 ms
 *   DNS      |========================================>  +3501 ms  (DNS lag 2877 ms)
 *   connect  |=========================================> +3626 ms
 */
export function timelineBar(t: FailoverTimeline): string[] {
  const offsets = BAR_STEPS.map(([step]) => t.steps.find((s) => s.step === step)?.offsetMs);
  const longest = Math.max(1, ...offsets.map((o) => o ?? 0));
  const nameWidth = Math.max(...BAR_STEPS.map(([, name]) => name.length));
  return BAR_STEPS.map(([, name], i) => {
    const o = offsets[i];
    if (o === undefined) return `${name.padEnd(nameWidth)}  |${' '.repeat(BAR_WIDTH + 1)}  not seen`;
    const n = Math.max(0, Math.round((Math.max(0, o) / longest) * BAR_WIDTH) - 1);
    const bar = `${'='.repeat(n)}>`.padEnd(BAR_WIDTH + 1);
    const lag = name === 'DNS' && t.dnsLagMs !== undefined ? `  (DNS lag ${rounded(t.dnsLagMs)} ms)` : '';
    return `${name.padEnd(nameWidth)}  |${bar}  +${rounded(o)} ms${lag}`;
  });
}

/** Aurora endpoints' DNS TTL (AWS's figure): how long a client that honours it may keep the old writer. */
export const AURORA_DNS_TTL_SECONDS = 5;

/**
 * What a failover under a second would need, from this one's figures: a client that follows DNS
 * waits for DNS to move and then for its own cached answer to expire (up to the TTL), so DNS
 * alone cannot get under the TTL. Said plainly, with the two ways round it.
 */
export function subSecondNote(t: FailoverTimeline, ttlSeconds = AURORA_DNS_TTL_SECONDS): string[] {
  const apiAt = t.steps.find((s) => s.step === 'api-writer-changed')?.offsetMs;
  const lag = t.dnsLagMs === undefined ? undefined : Math.max(0, t.dnsLagMs);
  const worst = apiAt !== undefined && lag !== undefined ? apiAt + lag + ttlSeconds * MS_PER_SECOND : undefined;
  return [
    'For a failover under 1 s:',
    `  a client that follows DNS reaches the new writer only after DNS moves${lag !== undefined ? ` (here ${rounded(lag)} ms after the API)` : ''}`,
    `  and its cached answer expires (the endpoint's TTL is ${ttlSeconds} s)${worst !== undefined ? `: up to ${seconds(worst)} after the event here` : ''}.`,
    `  Through DNS alone that cannot be under 1 s with a ${ttlSeconds} s TTL. Take DNS out of the path: the AWS Advanced JDBC`,
    '  Wrapper (its failover plugin learns the topology from the database and reconnects without DNS),',
    '  or RDS Proxy (AWS: clients recover up to 79 % faster). Measure again with this drill after the change.',
  ];
}
