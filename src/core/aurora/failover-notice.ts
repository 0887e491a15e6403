/**
 * An Aurora failover's one notice and the writer state it leaves (pure): what the failover
 * watcher publishes after sampling a failover into a timeline. `dns-lag` (warning) when DNS
 * lagged past the target's threshold or never followed, else `writer-changed` (info). Both are
 * events: information for reading later; the periodic check pages a lag that lasts.
 */
import { adviceFor } from '../advice.ts';
import type { AuroraTarget } from '../config.ts';
import type { AlertTransition, Finding, TargetState } from '../types.ts';
import { FINDING_KINDS } from '../types.ts';
import { timelineBar, timelineDocument, timelineSummary } from './format.ts';
import type { FailoverTimeline } from './timeline.ts';
import { MS_PER_SECOND } from '../time-units.ts';

/** The part of the RDS event the notice names. */
export interface FailoverEvent {
  detail: { EventID: string; Message?: string };
}

/** Where the timeline's figures go (CloudWatch in Lambda). */
export interface TimelineMetrics {
  publishTimeline(target: string, timeline: FailoverTimeline): Promise<void>;
}

/** The one notice of a failover: dns-lag (warning) when DNS lagged past the target's threshold or never followed, else writer-changed (info). */
export function failoverTransition(target: AuroraTarget, t: FailoverTimeline, event: FailoverEvent, now: Date): AlertTransition {
  const lagged = t.newWriter !== undefined && (t.dnsLagMs === undefined || t.dnsLagMs > target.dnsLagWarnSeconds * MS_PER_SECOND);
  const kind = lagged ? 'dns-lag' : 'writer-changed';
  const severity = FINDING_KINDS[kind];
  const doc = timelineDocument(t);
  const summary = `${target.name}: failover ${timelineSummary(t)}`;
  const key = `${target.name}/failover@${doc.eventAt}`;
  const finding: Finding = {
    key,
    target: target.name,
    kind,
    severity,
    summary,
    evidence: {
      event: { id: event.detail.EventID, message: event.detail.Message, at: doc.eventAt },
      cluster: t.cluster,
      host: t.host,
      previousWriter: t.previousWriter,
      newWriter: t.newWriter,
      dnsLagMs: doc.dnsLagMs,
      clientOutageMs: doc.outage?.ms,
      settled: t.settled,
      endReason: t.endReason,
      steps: doc.steps.map((s) => ({ step: s.label, offsetMs: s.offsetMs ?? 'not seen', withinMs: s.precisionMs, detail: s.detail })),
      samples: t.counts,
    },
    advice: lagged && t.dnsLagMs !== undefined ? pastLagAdvice(t.dnsLagMs) : adviceFor(kind),
    drawing: timelineBar(t),
  };
  return { type: 'event', key, target: target.name, kind, severity, at: now.toISOString(), summary, finding, openedAt: doc.eventAt };
}

/** Advice for a lag that is over (the stock dns-lag advice speaks of one still going on). */
function pastLagAdvice(lagMs: number): string {
  return `DNS named the new writer ${(lagMs / MS_PER_SECOND).toFixed(1)} s after the API did: clients connecting through the cluster endpoint in that window reached the old writer (now a reader) or nothing. DNS cannot be made faster from outside; to take it out of the failover path, use a driver that follows the cluster topology (AWS Advanced JDBC Wrapper failover plugin) or RDS Proxy.`;
}

/** The target's state after the failover: the writer as measured, the mismatch start if DNS never followed. */
export function stateAfter(prev: TargetState, t: FailoverTimeline): TargetState {
  const api = t.steps.find((s) => s.step === 'api-writer-changed');
  const aurora = { ...prev.aurora };
  if (t.newWriter !== undefined && api?.at !== undefined) {
    aurora.apiWriter = t.newWriter;
    aurora.writerChangedAt = new Date(Math.round(api.at)).toISOString();
    const dnsFollowed = t.steps.some((s) => s.step === 'dns-names-new-writer' && s.at !== undefined);
    if (dnsFollowed) {
      aurora.dnsWriter = t.newWriter;
      delete aurora.mismatchSince;
    } else aurora.mismatchSince = aurora.writerChangedAt;
  }
  return { ...prev, aurora };
}
