/**
 * What `ipdrift report` draws, computed from saved state and history (docs/architecture.md,
 * "Report"): per ELB an address swimlane each (first seen, retired and draining, dead or
 * released, dropped), the checks as ticks, the address-set changes; per target its incidents as
 * bands (from the notice records); per Aurora target each failover's timeline; a summary. Pure:
 * times in, numbers out; the HTML is the renderer's (src/adapters/local/report-html.ts).
 */
import type { ChangeRecord, Severity, TargetState } from '../core/types.ts';
import { TARGET_TYPE_DESCRIPTORS } from '../core/target-types.ts';
import type { TargetTypeName } from '../core/target-types.ts';

/** A target as the report knows it (from the config, or from its saved state alone). */
export interface PictureTarget {
  name: string;
  type: TargetTypeName;
  /** Web tiers: the ELB target in front of it. */
  upstream?: string;
}

/** A failover as `timelineDocument` gives it (ISO times, whole ms). */
export interface FailoverDoc {
  cluster: string;
  previousWriter?: string;
  newWriter?: string;
  eventAt: string;
  endedAt: string;
  settled: boolean;
  dnsLagMs?: number;
  outage?: { startAt: string; endAt?: string; ms?: number };
  steps: { step: string; label: string; at?: string; offsetMs?: number }[];
}

export interface PictureInput {
  from: Date;
  to: Date;
  targets: readonly PictureTarget[];
  states: ReadonlyMap<string, TargetState | undefined>;
  /** Each target's history, any order. */
  history: ReadonlyMap<string, readonly ChangeRecord[]>;
  /** Times of the checks, when known (the demo knows every one); else those the history shows. */
  ticks?: ReadonlyMap<string, readonly string[]>;
  /** Failovers not in the history (the drill's own). */
  failovers?: ReadonlyMap<string, readonly FailoverDoc[]>;
}

/** Where an address's lane ends. */
export type LaneStatus = 'current' | 'draining' | 'dead' | 'released' | 'dropped';

/** One address over time (epoch ms). */
export interface AddressLane {
  address: string;
  start: number;
  retiredAt?: number;
  /** A probe found it silent after its retirement. */
  deadAt?: number;
  /** Its interface was deleted (CloudTrail). */
  releasedAt?: number;
  end: number;
  status: LaneStatus;
  ttl?: number;
}

/** One alert from opening to resolution (or still open). */
export interface Incident {
  key: string;
  kind: string;
  severity: Severity | 'unknown';
  openedAt: number;
  resolvedAt?: number;
  /** Messages to on-call for it (opened, updated, reminders, resolved). */
  pages: number;
  /** What each notice said, in order. */
  notes: { at: number; what: string; summary: string }[];
  /** Web tiers' stale-upstream: opened this long after the upstream's last retirement plus its TTL. */
  detectedAfterTtlMs?: number;
  /**
   * Stale-upstream and flow clients: paged this long after the first check that saw the retired
   * node silent or released (0: in that very check). Absent when the page came before (with proof).
   */
  detectedAfterSilentMs?: number;
}

export interface TargetPicture {
  target: PictureTarget;
  lanes: AddressLane[];
  changes: { at: number; added: string[]; removed: string[] }[];
  ticks: number[];
  incidents: Incident[];
  failovers: FailoverDoc[];
}

export interface Picture {
  from: number;
  to: number;
  targets: TargetPicture[];
  /** `pages`: messages to on-call; `events`: messages to the events topic (never a page). */
  totals: { incidentsOpened: number; incidentsResolved: number; pages: number; events: number };
}

const NOTICE_KINDS = new Set(['alert-opened', 'alert-updated', 'alert-reminder', 'alert-resolved']);
const ms = (iso: string | undefined) => (iso === undefined ? undefined : Date.parse(iso));
const byTime = (a: ChangeRecord, b: ChangeRecord) => Date.parse(a.at) - Date.parse(b.at);

/** Builds the picture of `[from, to]`. */
export function buildPicture(input: PictureInput): Picture {
  const from = input.from.getTime();
  const to = input.to.getTime();
  const inWindow = (t: number) => t >= from && t <= to;
  const pictures = input.targets.map((target) => {
    const state = input.states.get(target.name);
    const history = [...(input.history.get(target.name) ?? [])].sort(byTime);
    const ticks = (input.ticks?.get(target.name) ?? derivedTicks(history, state)).map(Date.parse).filter(inWindow);
    const changes = history
      .filter((c) => c.kind === 'address-set-changed' && inWindow(Date.parse(c.at)))
      .map((c) => ({ at: Date.parse(c.at), added: c.added ?? [], removed: c.removed ?? [] }));
    const failovers = [...(input.failovers?.get(target.name) ?? []), ...history.flatMap((c) => failoverOf(c))].filter((f) => inWindow(Date.parse(f.eventAt)));
    return {
      target,
      lanes: TARGET_TYPE_DESCRIPTORS[target.type].hasAddresses ? lanesOf(state, history, from, to) : [],
      changes,
      ticks: [...new Set(ticks)].sort((a, b) => a - b),
      incidents: incidentsOf(history, state, from, to),
      failovers,
    };
  });
  // Detection: a web tier behind a known upstream (its stale-upstream), and an ELB's flow clients.
  const byName = new Map(pictures.map((p) => [p.target.name, p]));
  for (const p of pictures) {
    for (const i of p.incidents) {
      const up = i.key.endsWith('/stale-upstream') && p.target.upstream ? byName.get(p.target.upstream) : i.key.includes('/stale-client-seen/') ? p : undefined;
      if (up) Object.assign(i, detectionOf(up.lanes, i.openedAt));
    }
  }
  const all = pictures.flatMap((p) => p.incidents);
  const events = input.targets
    .flatMap((t) => input.history.get(t.name) ?? [])
    .filter((c) => c.kind.startsWith('alert-') && c.audience === 'events' && inWindow(Date.parse(c.at))).length;
  return {
    from,
    to,
    targets: pictures,
    totals: {
      incidentsOpened: all.filter((i) => inWindow(i.openedAt)).length,
      incidentsResolved: all.filter((i) => i.resolvedAt !== undefined).length,
      pages: all.reduce((n, i) => n + i.pages, 0),
      events,
    },
  };
}

/**
 * How long after the upstream's last retirement (plus its TTL), and after the first check that saw
 * that retirement's node silent or released, an incident paged (`openedAt`: its first page).
 */
function detectionOf(lanes: readonly AddressLane[], openedAt: number): Pick<Incident, 'detectedAfterTtlMs' | 'detectedAfterSilentMs'> {
  const retired = lanes.filter((l) => l.retiredAt !== undefined && l.retiredAt <= openedAt);
  if (retired.length === 0) return {};
  const last = retired.reduce((a, b) => (b.retiredAt! > a.retiredAt! ? b : a));
  const out: Pick<Incident, 'detectedAfterTtlMs' | 'detectedAfterSilentMs'> = {
    detectedAfterTtlMs: Math.max(0, openedAt - (last.retiredAt! + (last.ttl ?? 0) * 1000)),
  };
  // The nodes of that retirement (retired with it) that went silent or were released by the page.
  const gone = retired
    .filter((l) => l.retiredAt === last.retiredAt)
    .flatMap((l) => [l.deadAt, l.releasedAt].filter((t): t is number => t !== undefined && t <= openedAt));
  if (gone.length > 0) out.detectedAfterSilentMs = openedAt - Math.min(...gone);
  return out;
}

/** Without a record of every check: the times something was recorded, and the last save. */
function derivedTicks(history: readonly ChangeRecord[], state: TargetState | undefined): string[] {
  return [...history.map((c) => c.at), ...(state?.updatedAt ? [state.updatedAt] : [])];
}

function lanesOf(state: TargetState | undefined, history: readonly ChangeRecord[], from: number, to: number): AddressLane[] {
  const deadAt = new Map<string, number>();
  for (const c of history) if (c.kind === 'retired-address-dead') for (const a of c.addresses ?? []) deadAt.set(a, Date.parse(c.at));
  const lanes: AddressLane[] = [];
  const known = new Set<string>();
  for (const r of state?.addresses ?? []) {
    known.add(r.address);
    const retiredAt = ms(r.retiredAt);
    const releasedAt = ms(r.released?.at);
    // A retired address silent at its last probe is dead since the history says, else since that probe.
    const dead = retiredAt === undefined ? undefined : (deadAt.get(r.address) ?? (r.lastProbe && !r.lastProbe.ok ? Date.parse(r.lastProbe.at) : undefined));
    const status: LaneStatus = retiredAt === undefined ? 'current' : releasedAt !== undefined ? 'released' : dead !== undefined ? 'dead' : 'draining';
    lanes.push({
      address: r.address,
      start: Date.parse(r.firstSeen),
      ...(retiredAt !== undefined ? { retiredAt } : {}),
      ...(dead !== undefined && retiredAt !== undefined && dead >= retiredAt ? { deadAt: dead } : {}),
      ...(releasedAt !== undefined ? { releasedAt } : {}),
      end: to,
      status,
      ...(r.ttl !== undefined ? { ttl: r.ttl } : {}),
    });
  }
  // Addresses the state no longer holds: their retention ended; the history still knows them.
  const added = new Map<string, number>();
  const removed = new Map<string, number>();
  for (const c of history) {
    if (c.kind !== 'address-set-changed') continue;
    for (const a of c.added ?? []) if (!added.has(a)) added.set(a, Date.parse(c.at));
    for (const a of c.removed ?? []) removed.set(a, Date.parse(c.at));
  }
  for (const [address, start] of added) {
    if (known.has(address)) continue;
    const retiredAt = removed.get(address);
    const end = Math.max(retiredAt ?? start, deadAt.get(address) ?? 0);
    lanes.push({
      address,
      start,
      ...(retiredAt !== undefined ? { retiredAt } : {}),
      ...(deadAt.has(address) ? { deadAt: deadAt.get(address)! } : {}),
      end,
      status: 'dropped',
    });
  }
  return lanes.filter((l) => l.end >= from && l.start <= to).sort((a, b) => a.start - b.start || a.address.localeCompare(b.address));
}

function incidentsOf(history: readonly ChangeRecord[], state: TargetState | undefined, from: number, to: number): Incident[] {
  const open = new Map<string, Incident>();
  const done: Incident[] = [];
  for (const c of history) {
    if (!NOTICE_KINDS.has(c.kind) || c.key === undefined) continue;
    const at = Date.parse(c.at);
    const what = c.kind.slice('alert-'.length);
    let i = open.get(c.key);
    if (!i) {
      i = { key: c.key, kind: kindOf(c.key), severity: c.severity ?? 'unknown', openedAt: at, pages: 0, notes: [] };
      open.set(c.key, i);
    }
    i.notes.push({ at, what, summary: c.summary });
    // A risk told to the events topic first: the incident begins with its first page.
    if (c.audience === 'on-call' && i.pages === 0) i.openedAt = at;
    if (c.audience === 'on-call') i.pages++;
    if (c.severity && rank(c.severity) > rank(i.severity)) i.severity = c.severity;
    if (c.kind === 'alert-resolved') {
      i.resolvedAt = at;
      done.push(i);
      open.delete(c.key);
    }
  }
  // An alert open in the state whose opening predates the notice records still shows.
  for (const a of Object.values(state?.alerts ?? {})) {
    if (a.status === 'pending' || a.status === 'event' || open.has(a.key)) continue;
    open.set(a.key, {
      key: a.key,
      kind: kindOf(a.key),
      severity: a.severity,
      openedAt: Date.parse(a.openedAt),
      pages: 0,
      notes: [{ at: Date.parse(a.openedAt), what: 'opened', summary: a.summary }],
    });
  }
  // Info alerts are events for reading later, not incidents: only what paged (or would) is drawn.
  return [...done, ...open.values()]
    .filter((i) => rank(i.severity) >= rank('warning') && (i.resolvedAt ?? to) >= from && i.openedAt <= to)
    .sort((a, b) => a.openedAt - b.openedAt);
}

/** `stale-upstream` of `web/stale-upstream`; `stale-client-seen 10.0.5.7` of a flow client's key. */
const kindOf = (key: string) => key.slice(key.indexOf('/') + 1).replace('/', ' ');
const SEVERITY_RANK: Record<Severity | 'unknown', number> = { unknown: 0, info: 1, warning: 2, critical: 3 };
const rank = (s: Severity | 'unknown') => SEVERITY_RANK[s];

/** The failover a history record carries, when it has a usable timeline. */
function failoverOf(c: ChangeRecord): FailoverDoc[] {
  const t = c.timeline as Partial<FailoverDoc> | undefined;
  if (!t || typeof t.eventAt !== 'string' || Number.isNaN(Date.parse(t.eventAt)) || !Array.isArray(t.steps)) return [];
  return [t as FailoverDoc];
}
