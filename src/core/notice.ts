/**
 * The words on-call reads: one alert transition as a subject line, a plain-text body and the
 * attributes subscription filters match on. Pure (no SDK, no I/O) so the SNS adapter and the
 * CLI render exactly the same notice.
 */
import { spanText } from './recovery.ts';
import { kindColumn } from './finding-catalogue.ts';
import type { AlertTransition, Finding, FindingKind, Severity, TransitionType } from './types.ts';

/** Bounds of a notice. SNS: subject < 100 printable ASCII characters, message <= 256 KB. */
export const NOTICE_LIMITS = {
  /** SNS rejects subjects of 100 characters or more. */
  subjectMaxChars: 99,
  /** Hard cap of the body in UTF-8 bytes: well under SNS's 256 KB, still readable in a mail client. */
  bodyMaxBytes: 64 * 1024,
  /** Budget of the human-readable evidence section. */
  evidenceMaxBytes: 8 * 1024,
  /** Budget of the JSON appendix. */
  jsonMaxBytes: 32 * 1024,
  /** Array items shown before "... and N more". */
  listItemsShown: 20,
  /** Characters of one string value shown before it is cut. */
  stringMaxChars: 400,
  /** Nesting shown before "{...}". */
  maxDepth: 5,
  /** Addresses named in the subject. */
  subjectAddresses: 2,
} as const;

/**
 * Who a notice is for. `on-call`: the transitions of warning and critical alerts (opened,
 * updated, reminder, resolved), one message each: these page. `events`: information for reading
 * later (address-set changes, writer changes, failover timelines): never a page.
 */
export type Audience = 'on-call' | 'events';

/** The audience of a transition: one-off events and info findings are never pages. */
export const audienceOf = (t: Pick<AlertTransition, 'type' | 'severity'>): Audience => (t.type === 'event' || t.severity === 'info' ? 'events' : 'on-call');

/** SNS message attributes of a notice (all `String`); subscription filter policies match these. */
export interface NoticeAttributes {
  severity: Severity;
  target: string;
  kind: FindingKind;
  transition: TransitionType;
  audience: Audience;
}

/** A rendered notice. */
export interface Notice {
  subject: string;
  body: string;
  attributes: NoticeAttributes;
}

/** What each finding kind means, in one line (src/core/finding-catalogue.ts). */
export const KIND_MEANING: Record<FindingKind, string> = kindColumn('meaning');

const TRANSITION_TEXT: Record<TransitionType, string> = {
  opened: 'OPENED',
  updated: 'UPDATED (same incident, worse evidence)',
  reminder: 'STILL OPEN (reminder)',
  resolved: 'RESOLVED',
  event: 'EVENT',
};

const ELLIPSIS = '...';
/** A subject is cut at a word boundary unless that would drop more than this share of the room. */
const WORD_CUT_MIN_SHARE = 0.75;
/**
 * An IPv4 or IPv6 address in a summary, with the "+"/"-" the address-set summary puts before it.
 * Not part of a longer token; a ":port" or a sentence's final "." may follow.
 */
const ADDRESS_RE = /(?<![\w.:])[+-]?(?:(?:\d{1,3}\.){3}\d{1,3}(?![\w])(?!\.\d)|[0-9a-f]{0,4}(?::[0-9a-f]{0,4}){2,7}(?![\w:])(?!\.\w))/gi;

const utf8Bytes = (s: string) => Buffer.byteLength(s, 'utf8');

/** Renders one transition as subject, body and attributes. */
export function formatNotice(t: AlertTransition): Notice {
  return {
    subject: noticeSubject(t),
    body: noticeBody(t),
    attributes: { severity: t.severity, target: t.target, kind: t.kind, transition: t.type, audience: audienceOf(t) },
  };
}

/**
 * `[CRITICAL] web: stale address confirmed (10.0.1.23)`: label, target, kind in words and the
 * first addresses the summary names. Printable ASCII only, under 100 characters.
 */
export function noticeSubject(t: AlertTransition): string {
  const label =
    t.type === 'resolved'
      ? 'RESOLVED'
      : t.type === 'reminder'
        ? 'REMINDER'
        : t.type === 'updated'
          ? `${t.severity.toUpperCase()} UPDATE`
          : t.severity.toUpperCase();
  const addresses = addressesIn(t.was ?? t.summary);
  const shown = addresses.slice(0, NOTICE_LIMITS.subjectAddresses);
  const more = addresses.length - shown.length;
  const detail = shown.length ? ` (${shown.join(', ')}${more > 0 ? ` +${more} more` : ''})` : '';
  return toSubject(`[${label}] ${t.target}: ${t.kind.replace(/-/g, ' ')}${detail}`);
}

/** Unique IP addresses in a text, in order of appearance, keeping a leading "+" (came) or "-" (left). */
function addressesIn(text: string): string[] {
  const found = (text.match(ADDRESS_RE) ?? []).filter((s) => s.includes('.') || s.includes('::') || s.split(':').length > 3);
  return [...new Set(found)];
}

/** SNS subject rules: printable ASCII, no line breaks, under 100 characters; cut on a word when possible. */
export function toSubject(text: string): string {
  // Replace anything outside printable ASCII (control characters, line breaks, non-ASCII) with a space or "?".
  const ascii = text
    .replace(/[\r\n\t\f\v]+/g, ' ')
    .replace(/[^\x20-\x7e]/g, '?')
    .replace(/ {2,}/g, ' ')
    .trim();
  const subject = ascii === '' ? 'ipdrift notice' : ascii;
  if (subject.length <= NOTICE_LIMITS.subjectMaxChars) return subject;
  const room = NOTICE_LIMITS.subjectMaxChars - ELLIPSIS.length;
  const cut = subject.slice(0, room);
  const space = cut.lastIndexOf(' ');
  return `${(space > room * WORD_CUT_MIN_SHARE ? cut.slice(0, space) : cut).trimEnd()}${ELLIPSIS}`;
}

/** "45 s", "12 min 5 s", "3 h 5 min" between two ISO times. */
function duration(fromIso: string | undefined, toIso: string): string | undefined {
  if (!fromIso) return undefined;
  const ms = Date.parse(toIso) - Date.parse(fromIso);
  return Number.isFinite(ms) && ms >= 0 ? spanText(ms) : undefined;
}

/**
 * The body: what, since when, the advice, the evidence (bounded, readable) and the transition as
 * JSON at the end (bounded, still valid JSON). Never larger than NOTICE_LIMITS.bodyMaxBytes.
 */
export function noticeBody(t: AlertTransition): string {
  const f = t.finding;
  const lines: string[] = [];
  lines.push(`${TRANSITION_TEXT[t.type]}: ${t.severity.toUpperCase()} ${t.kind} on target "${t.target}"`);
  lines.push('', oneLine(t.summary), ...(t.was === undefined ? [] : [`Was: ${oneLine(t.was)}`]), '');
  lines.push(`Target:      ${t.target}`);
  lines.push(`Finding:     ${t.kind} (${t.severity}): ${KIND_MEANING[t.kind]}`);
  if (t.type === 'resolved') {
    const lasted = duration(t.openedAt, t.at);
    lines.push(`Resolved at: ${t.at}`);
    // The alert's own span (to this notice, clean checks included); the summary's "incident lasted" ends at its last evidence.
    lines.push(`Opened at:   ${t.openedAt ?? 'unknown'}${lasted ? ` (alert open ${lasted}, clean checks included)` : ''}`);
  } else {
    lines.push(`Seen at:     ${t.at}`);
    const open = duration(t.openedAt, t.at);
    if (t.type === 'event') lines.push('Type:        one-off event (sent once, never "resolved")');
    else lines.push(`Open since:  ${t.openedAt ?? t.at}${open ? ` (${open})` : ''}`);
  }
  lines.push(`Alert key:   ${t.key}`);
  if (t.type === 'resolved') lines.push('', 'Nothing to do unless it comes back.');
  if (t.type === 'updated') lines.push('', 'The same incident as the alert opened earlier (no new page): its evidence got worse.');
  if (f?.drawing?.length) lines.push('', 'Timeline:', ...f.drawing.map((l) => `  ${l}`));
  if (f) {
    lines.push('', 'What to do:', indent(f.advice), '', 'Evidence:', renderEvidence(f.evidence));
  }
  lines.push('', 'Details (JSON):', boundedJson(t));
  return capBytes(lines.join('\n'), NOTICE_LIMITS.bodyMaxBytes);
}

const oneLine = (s: string) => s.replace(/\s+/g, ' ').trim();
const indent = (s: string, by = '  ') =>
  s
    .split('\n')
    .map((l) => `${by}${l}`)
    .join('\n');

/** A copy of `value` with long arrays, long strings and deep nesting cut, each cut marked. */
export function boundValue(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') {
    return value.length > NOTICE_LIMITS.stringMaxChars ? `${value.slice(0, NOTICE_LIMITS.stringMaxChars)}... (${value.length} chars)` : value;
  }
  if (value === null || typeof value !== 'object') return value;
  if (depth >= NOTICE_LIMITS.maxDepth) return Array.isArray(value) ? `[${value.length} items]` : '{...}';
  if (Array.isArray(value)) {
    const shown = value.slice(0, NOTICE_LIMITS.listItemsShown).map((v) => boundValue(v, depth + 1));
    const more = value.length - shown.length;
    return more > 0 ? [...shown, `... and ${more} more`] : shown;
  }
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, boundValue(v, depth + 1)]));
}

/** Evidence as indented `key: value` lines (objects in lists YAML-style), bounded; says so when cut. */
export function renderEvidence(evidence: Record<string, unknown>): string {
  const isScalar = (v: unknown) => v === null || typeof v !== 'object';
  const render = (value: unknown, pad: string): string[] => {
    if (Array.isArray(value)) {
      return value.flatMap((v) => {
        if (isScalar(v)) return [`${pad}- ${String(v)}`];
        const inner = render(v, `${pad}  `);
        // The first line of an object in a list goes on the dash.
        return inner.length ? [`${pad}- ${inner[0]!.slice(pad.length + 2)}`, ...inner.slice(1)] : [`${pad}- {}`];
      });
    }
    const out: string[] = [];
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      if (v === undefined) continue;
      if (isScalar(v)) out.push(`${pad}${k}: ${String(v)}`);
      else if (Array.isArray(v) && v.every(isScalar)) out.push(`${pad}${k}: ${v.length ? v.map(String).join(', ') : '(none)'}`);
      else out.push(`${pad}${k}:`, ...render(v, `${pad}  `));
    }
    return out;
  };
  const lines = render(boundValue(evidence), '  ');
  const text = lines.length ? lines.join('\n') : '  (none)';
  const bytes = utf8Bytes(text);
  if (bytes <= NOTICE_LIMITS.evidenceMaxBytes) return text;
  return `${capBytes(text, NOTICE_LIMITS.evidenceMaxBytes)}\n  [evidence truncated: ${bytes} bytes, first ${NOTICE_LIMITS.evidenceMaxBytes} shown]`;
}

/** The transition as JSON; when too large, the evidence is cut, then replaced by a marker (stays valid JSON). */
function boundedJson(t: AlertTransition): string {
  const full = JSON.stringify(t);
  if (utf8Bytes(full) <= NOTICE_LIMITS.jsonMaxBytes) return full;
  const withFinding = (evidence: Record<string, unknown>) =>
    JSON.stringify({ ...t, ...(t.finding ? { finding: { ...t.finding, evidence } satisfies Finding } : {}) });
  const bounded = withFinding({ ...(boundValue(t.finding?.evidence ?? {}) as Record<string, unknown>), truncated: true });
  if (utf8Bytes(bounded) <= NOTICE_LIMITS.jsonMaxBytes) return bounded;
  const marker = withFinding({ truncated: true, originalBytes: utf8Bytes(JSON.stringify(t.finding?.evidence ?? {})) });
  if (utf8Bytes(marker) <= NOTICE_LIMITS.jsonMaxBytes) return marker;
  // Only an absurd summary or advice gets here: keep the identifiers.
  return JSON.stringify({ type: t.type, key: t.key, target: t.target, kind: t.kind, severity: t.severity, at: t.at, openedAt: t.openedAt, truncated: true });
}

/** Cuts `text` to at most `max` UTF-8 bytes without splitting a character, marking the cut. */
export function capBytes(text: string, max: number): string {
  if (utf8Bytes(text) <= max) return text;
  const marker = '\n[truncated]';
  const buf = Buffer.from(text, 'utf8').subarray(0, max - utf8Bytes(marker));
  // Decoding drops a split trailing character as U+FFFD; strip it.
  return `${buf.toString('utf8').replace(/\uFFFD$/, '')}${marker}`;
}
