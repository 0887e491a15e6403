/** The report's picture, from state and history alone (pure). */
import { describe, expect, it } from 'vitest';
import { buildPicture } from '../../src/presentation/picture.ts';
import type { PictureInput } from '../../src/presentation/picture.ts';
import type { ChangeRecord, TargetState } from '../../src/core/types.ts';
import { STATE_SCHEMA_VERSION } from '../../src/core/constants.ts';

const T0 = Date.parse('2026-12-01T10:00:00Z');
const at = (min: number) => new Date(T0 + min * 60_000).toISOString();
const base = (target: string, over: Partial<TargetState> = {}): TargetState => ({
  schemaVersion: STATE_SCHEMA_VERSION,
  target,
  version: 3,
  addresses: [],
  alerts: {},
  ...over,
});
const notice = (target: string, min: number, type: string, audience: 'on-call' | 'events', severity = 'critical' as const): ChangeRecord => ({
  at: at(min),
  target,
  kind: `alert-${type}` as ChangeRecord['kind'],
  summary: `${target} ${type}`,
  key: `${target}/stale-upstream`,
  severity,
  audience,
});

/** An ELB whose node .11 was replaced at minute 5 (TTL 60 s), .12 long gone, and a stale web tier paged at minute 7. */
function input(over: Partial<PictureInput> = {}): PictureInput {
  const elb = base('app-alb', {
    updatedAt: at(20),
    addresses: [
      { address: '10.0.0.11', firstSeen: at(0), lastSeen: at(5), retiredAt: at(5), ttl: 60, lastProbe: { at: at(20), ok: false, latencyMs: 1 } },
      { address: '10.0.0.21', firstSeen: at(5), lastSeen: at(20), ttl: 60, lastProbe: { at: at(20), ok: true, latencyMs: 1 } },
      { address: '10.0.0.22', firstSeen: at(5), lastSeen: at(8), retiredAt: at(8), released: { at: at(9), interfaceId: 'eni-1' }, ttl: 60 },
    ],
  });
  const history: ChangeRecord[] = [
    { at: at(-30), target: 'app-alb', kind: 'address-set-changed', summary: 'first seen', added: ['10.0.0.12'] },
    { at: at(-20), target: 'app-alb', kind: 'address-set-changed', summary: 'x', added: ['10.0.0.11'], removed: ['10.0.0.12'] },
    { at: at(5), target: 'app-alb', kind: 'address-set-changed', summary: 'x', added: ['10.0.0.21', '10.0.0.22'], removed: ['10.0.0.11'] },
    { at: at(12), target: 'app-alb', kind: 'retired-address-dead', summary: 'x', addresses: ['10.0.0.11'] },
    { at: at(5), target: 'app-alb', kind: 'alert-event', summary: 'changed', key: 'app-alb/address-set-changed@event', severity: 'info', audience: 'events' },
  ];
  const tier: ChangeRecord[] = [
    notice('web', 7, 'opened', 'on-call'),
    notice('web', 9, 'updated', 'on-call'),
    notice('web', 15, 'resolved', 'on-call'),
    { ...notice('web', 16, 'opened', 'events', 'info' as never), key: 'web/retired-address-answering' },
  ];
  return {
    from: new Date(T0 - 60 * 60_000),
    to: new Date(T0 + 20 * 60_000),
    targets: [
      { name: 'app-alb', type: 'elb' },
      { name: 'web', type: 'web-tier', upstream: 'app-alb' },
    ],
    states: new Map([
      ['app-alb', elb],
      ['web', base('web')],
    ]),
    history: new Map([
      ['app-alb', history],
      ['web', tier],
    ]),
    ...over,
  };
}

describe('buildPicture', () => {
  it('draws a lane per address: current, dead since the history says, released, and one the state dropped', () => {
    // Act
    const p = buildPicture(input());
    // Assess
    const lanes = Object.fromEntries(p.targets[0]!.lanes.map((l) => [l.address, l]));
    expect(Object.keys(lanes)).toEqual(['10.0.0.12', '10.0.0.11', '10.0.0.21', '10.0.0.22']);
    expect(lanes['10.0.0.21']).toMatchObject({ status: 'current', start: Date.parse(at(5)), end: Date.parse(at(20)) });
    expect(lanes['10.0.0.11']).toMatchObject({ status: 'dead', retiredAt: Date.parse(at(5)), deadAt: Date.parse(at(12)) });
    expect(lanes['10.0.0.22']).toMatchObject({ status: 'released', releasedAt: Date.parse(at(9)) });
    expect(lanes['10.0.0.12']).toMatchObject({ status: 'dropped', start: Date.parse(at(-30)), retiredAt: Date.parse(at(-20)), end: Date.parse(at(-20)) });
    expect(p.targets[0]!.changes.map((c) => c.at)).toEqual([at(-30), at(-20), at(5)].map(Date.parse));
  });

  it('one incident from its notices: opened, updated, resolved; pages counted; detection after the TTL; info alerts are no incident', () => {
    // Act
    const p = buildPicture(input());
    // Assess
    const [incident, ...rest] = p.targets[1]!.incidents;
    expect(rest).toEqual([]);
    expect(incident).toMatchObject({
      key: 'web/stale-upstream',
      kind: 'stale-upstream',
      severity: 'critical',
      openedAt: Date.parse(at(7)),
      resolvedAt: Date.parse(at(15)),
      pages: 3,
      // .11 retired at minute 5 with a 60 s TTL; opened at minute 7: one minute after the TTL ran out.
      detectedAfterTtlMs: 60_000,
    });
    expect(incident!.notes.map((n) => n.what)).toEqual(['opened', 'updated', 'resolved']);
    expect(p.totals).toEqual({ incidentsOpened: 1, incidentsResolved: 1, pages: 3, events: 2 });
  });

  it('a risk told to the events topic, then paged once the node went silent: the incident starts at the page; detection after the silence', () => {
    // Prepare: at risk from minute 7 (events), paged at minute 12.
    const tier: ChangeRecord[] = [
      notice('web', 7, 'opened', 'events', 'info' as never),
      notice('web', 12, 'opened', 'on-call'),
      notice('web', 15, 'resolved', 'on-call'),
    ];

    // Act
    const p = buildPicture(input({ history: new Map([...input().history, ['web', tier]]) }));

    // Assess
    expect(p.targets[1]!.incidents).toEqual([
      // The last retirement before the page: .22 at minute 8 (TTL 60 s), released at minute 9.
      expect.objectContaining({ openedAt: Date.parse(at(12)), pages: 2, detectedAfterTtlMs: 3 * 60_000, detectedAfterSilentMs: 3 * 60_000 }),
    ]);
    expect(p.targets[1]!.incidents[0]!.notes.map((n) => n.what)).toEqual(['opened', 'opened', 'resolved']);
  });

  it('keeps to its window, and still shows an alert open since before the notice records', () => {
    // Prepare
    const open = base('web', {
      alerts: {
        'web/stale-upstream': {
          key: 'web/stale-upstream',
          target: 'web',
          kind: 'stale-address-confirmed',
          severity: 'critical',
          openedAt: at(18),
          lastSeenAt: at(20),
          notifications: 1,
          absentChecks: 0,
          status: 'open',
          summary: 'stale',
        },
      },
    });
    // Act
    const late = buildPicture(input({ from: new Date(T0 + 16 * 60_000) }));
    const withOpen = buildPicture(input({ states: new Map([['web', open]]), history: new Map() }));
    // Assess
    expect(late.targets[1]!.incidents).toEqual([]);
    expect(late.targets[0]!.lanes.map((l) => l.address)).toEqual(['10.0.0.11', '10.0.0.21', '10.0.0.22']);
    expect(withOpen.targets[1]!.incidents).toEqual([expect.objectContaining({ openedAt: Date.parse(at(18)), severity: 'critical' })]);
    expect(withOpen.targets[1]!.incidents[0]!.resolvedAt).toBeUndefined();
  });

  it("takes failovers from the watcher's history records", () => {
    // Prepare
    const timeline = {
      cluster: 'orders',
      eventAt: at(3),
      endedAt: at(4),
      settled: true,
      dnsLagMs: 2877,
      steps: [{ step: 'event', label: 'failover event', offsetMs: 0 }],
    };
    const history = new Map([
      [
        'orders',
        [
          { at: at(4), target: 'orders', kind: 'dns-lag' as const, summary: 'x', timeline },
          { at: at(1), target: 'orders', kind: 'writer-changed' as const, summary: 'no timeline' },
        ],
      ],
    ]);
    // Act
    const p = buildPicture({ ...input(), targets: [{ name: 'orders', type: 'aurora' }], history });
    // Assess
    expect(p.targets[0]!.failovers).toEqual([timeline]);
  });
});
