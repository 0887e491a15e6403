/**
 * What a check writes: a target's next state and its history records (address changes, notices
 * delivered). Shared by the decide phase and the save phase's re-apply after a conflict.
 */
import { markDelivered } from '../alerts.ts';
import { goneOf, retiredStateOf } from '../assess.ts';
import { audienceOf } from '../notice.ts';
import { LIMITS } from '../constants.ts';
import type { Observed } from '../targets/types.ts';
import type { AddressRecord, AlertTransition, ChangeRecord, Finding, NoticeRecordKind, TargetState } from '../types.ts';

/** The target's next state (alerts filled in by the caller). */
export function nextState(o: Observed, now: Date): TargetState {
  const at = now.toISOString();
  const addresses = o.records.map((r) => {
    const p = o.probes.get(r.address);
    if (!p || p.error?.code === 'aborted') return r;
    const rec: AddressRecord = { ...r, lastProbe: { at, ok: p.ok, latencyMs: p.latencyMs, ...(p.error ? { error: p.error.message } : {}) } };
    // Remember who a current address is, to notice a retired one answering as someone else.
    if (p.ok && r.retiredAt === undefined && p.identity) rec.identity = p.identity;
    // When a retired address went for its clients: flow records after it are clients that did not move.
    if (r.retiredAt !== undefined) {
      if (goneOf(retiredStateOf(r, p)) !== undefined) rec.goneSince ??= at;
      else delete rec.goneSince;
    }
    return rec;
  });
  const state: TargetState = { ...o.previous, addresses, alerts: o.previous.alerts };
  if (o.web?.server) state.webServer = o.web.server;
  if (o.web?.ok) state.latencies = [...(o.previous.latencies ?? []), o.web.latencyMs].slice(-LIMITS.latencySamples);
  if (o.aurora) state.aurora = o.aurora;
  if (o.flow) state.flow = o.flow;
  else delete state.flow;
  if (o.resolver) state.resolver = o.resolver;
  else delete state.resolver;
  if (o.census) state.census = o.census;
  else delete state.census;
  return state;
}

/**
 * History of what on-call and the events topic were told about this target: one record per
 * delivered transition. `ipdrift report` draws incidents and counts messages from these.
 */
export function noticeRecords(delivered: readonly AlertTransition[], target: string, at: Date): ChangeRecord[] {
  return delivered
    .filter((t) => t.target === target)
    .map((t) => ({
      at: at.toISOString(),
      target,
      kind: `alert-${t.type}` as NoticeRecordKind,
      summary: t.summary,
      key: t.key,
      severity: t.severity,
      audience: audienceOf(t),
    }));
}

/** `state` with the deliveries of `delivered` (its target's) recorded on its alerts. */
export function applyDeliveries(state: TargetState, delivered: readonly AlertTransition[], at: Date): TargetState {
  let alerts = state.alerts;
  for (const t of delivered) if (t.target === state.target) alerts = markDelivered(alerts, t, at);
  return { ...state, alerts };
}

/** What this check adds to the target's history: address changes, releases, silences, new conditions. */
export function changeRecords(o: Observed, findings: Finding[], now: Date): ChangeRecord[] {
  const at = now.toISOString();
  const out: ChangeRecord[] = [];
  if (o.diff && (o.diff.added.length || o.diff.retired.length)) {
    const first = o.previous.version === 0;
    out.push({
      at,
      target: o.target.name,
      kind: 'address-set-changed',
      summary: first ? `first seen: ${o.diff.added.join(', ')}` : (findings.find((f) => f.kind === 'address-set-changed')?.summary ?? 'addresses changed'),
      added: o.diff.added,
      removed: o.diff.retired,
    });
  }
  if (o.released) {
    const records = new Map(o.records.map((r) => [r.address, r]));
    for (const address of o.released) {
      const r = records.get(address)!;
      const where = r.retiredAt === undefined ? 'still listed by DNS' : `retired ${r.retiredAt}`;
      out.push({
        at,
        target: o.target.name,
        kind: 'address-released',
        summary: `${o.target.name}: ${address} released by the ELB at ${r.released!.at} (interface ${r.released!.interfaceId} deleted); ${where}`,
        removed: [address],
      });
    }
  }
  const alerts = o.previous.alerts;
  for (const f of findings) {
    if (f.kind === 'retired-address-dead') {
      // Address lifecycle is history, not a page: record when an address goes silent, once.
      const before = new Map(o.previous.addresses.map((r) => [r.address, r]));
      const newlyDead = ((f.evidence.addresses ?? []) as { address: string }[])
        .map((a) => a.address)
        .filter((a) => before.get(a)?.lastProbe?.ok !== false || before.get(a)?.retiredAt === undefined);
      if (newlyDead.length > 0)
        out.push({ at, target: f.target, kind: f.kind, summary: `${f.target}: retired ${newlyDead.join(', ')} stopped answering`, addresses: newlyDead });
      continue;
    }
    // A writer change is info, but exactly what `ipdrift history` is for.
    if ((f.severity === 'info' && f.kind !== 'writer-changed') || alerts[f.key]) continue;
    out.push({ at, target: f.target, kind: f.kind, summary: f.summary });
  }
  return out;
}
