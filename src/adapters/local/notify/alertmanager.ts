/**
 * `alertmanager`: Alertmanager's v2 API (`POST /api/v2/alerts`, a JSON array of postable alerts).
 * Alertmanager forgets an alert at its `endsAt`, so every check re-posts each open paging alert
 * with `endsAt` `holdMinutes` ahead (as Prometheus re-sends its firing alerts); a resolved
 * incident is posted with `endsAt` at its resolution, which closes it. Only paging transitions.
 */
import type { NotifyConfig } from '../../../core/config.ts';
import { formatNotice, noticeSubject } from '../../../core/notice.ts';
import { MS_PER_MINUTE } from '../../../core/time-units.ts';
import type { AlertTransition, Severity } from '../../../core/types.ts';
import { PAGING_SEVERITIES } from '../../../core/types.ts';
import { postJson } from './http-post.ts';
import { destinationOf, hears } from './types.ts';
import type { Delivery, OpenAlert, Sink } from './types.ts';

type AlertmanagerConfig = Extract<NotifyConfig, { type: 'alertmanager' }>;

/** The API path under the configured base URL. */
export const ALERTMANAGER_ALERTS_PATH = '/api/v2/alerts';

/**
 * The alert's name, from its incident's condition (the key's part after the target):
 * `web/stale-upstream` -> `IpdriftStaleUpstream` (CamelCase, as alert names are by convention).
 * Never from the kind: one incident's kind follows its latest evidence (suspected, confirmed,
 * a flow client), and a label that changed would make Alertmanager see a second alert.
 */
export const alertNameOf = (key: string, target: string) => {
  const condition = key.slice(target.length + 1).split('/')[0] ?? key;
  return `Ipdrift${condition.replace(/(^|-)([a-z])/g, (_, _dash: string, c: string) => c.toUpperCase())}`;
};

/** A postable alert (Alertmanager's OpenAPI `postableAlert`). */
interface PostableAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
}

/** An Alertmanager sink. */
export function alertmanagerSink(cfg: AlertmanagerConfig, name: string): Sink {
  const url = `${cfg.url.replace(/\/+$/, '')}${ALERTMANAGER_ALERTS_PATH}`;
  const holdMs = cfg.holdMinutes * MS_PER_MINUTE;
  // The labels identify the alert (its fingerprint): the incident's key, and its severity for
  // routing; all else (the kind of the latest evidence) is an annotation.
  const labelsOf = (a: { key: string; target: string }, severity: Severity) => ({
    ...cfg.labels,
    alertname: alertNameOf(a.key, a.target),
    key: a.key,
    target: a.target,
    severity,
  });
  const alertOf = (a: OpenAlert | AlertTransition, severity: Severity, startsAt: string, endsAt: Date, subject: string, advice?: string): PostableAlert => ({
    labels: labelsOf(a, severity),
    annotations: { summary: subject, description: a.summary, kind: a.kind, ...(advice ? { advice } : {}) },
    startsAt,
    endsAt: endsAt.toISOString(),
  });
  const post = (alerts: PostableAlert[], signal: AbortSignal) => postJson(url, JSON.stringify(alerts), {}, cfg.timeoutMs, signal);
  return {
    name,
    destination: destinationOf('alertmanager', new URL(url).origin),
    wants: (t) => hears('on-call', t),
    deliver(d: Delivery, signal: AbortSignal) {
      const t = d.transition;
      const subject = formatNotice(t).subject;
      const startsAt = t.openedAt ?? t.at;
      const at = new Date(t.at);
      if (t.type === 'resolved') return post([alertOf(t, t.severity, startsAt, at, subject)], signal);
      const alerts = [alertOf(t, t.severity, startsAt, new Date(at.getTime() + holdMs), subject, t.finding?.advice)];
      // An escalation changes the severity label, so the old alert is another one: close it.
      if (t.type === 'updated') for (const other of PAGING_SEVERITIES.filter((s) => s !== t.severity)) alerts.push(alertOf(t, other, startsAt, at, subject));
      return post(alerts, signal);
    },
    refresh(open: readonly OpenAlert[], now: Date, signal: AbortSignal) {
      if (open.length === 0) return Promise.resolve();
      const endsAt = new Date(now.getTime() + holdMs);
      return post(
        open.map((a) => alertOf(a, a.severity, a.openedAt, endsAt, noticeSubject({ ...a, type: 'opened', at: now.toISOString() }))),
        signal,
      );
    },
  };
}
