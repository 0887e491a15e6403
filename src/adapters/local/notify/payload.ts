/** The JSON document of one notice, as the webhook POSTs it and the exec command reads it on stdin. */
import { audienceOf, formatNotice } from '../../../core/notice.ts';
import type { Delivery } from './types.ts';

/** Version of the document's shape: receivers check it; a change of meaning gets a new number. */
export const NOTICE_DOCUMENT_VERSION = 1;

/** The notice as JSON: the transition's facts, and the subject and body SNS would send. */
export function noticeDocument(d: Delivery) {
  const t = d.transition;
  const notice = formatNotice(t);
  return {
    version: NOTICE_DOCUMENT_VERSION,
    id: d.id,
    type: t.type,
    audience: audienceOf(t),
    key: t.key,
    target: t.target,
    kind: t.kind,
    severity: t.severity,
    at: t.at,
    ...(t.openedAt ? { openedAt: t.openedAt } : {}),
    summary: t.summary,
    ...(t.was !== undefined ? { was: t.was } : {}),
    ...(t.finding ? { advice: t.finding.advice, evidence: t.finding.evidence } : {}),
    subject: notice.subject,
    body: notice.body,
  };
}
