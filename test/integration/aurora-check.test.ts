/**
 * One check of an Aurora target against the lab pair: database probes on the instances, the
 * API's writer vs the one DNS names, writer-changed and dns-lag through the alert machinery and
 * into history. The check's clock is virtual (minutes pass between checks); the lab is real.
 * The tests run in order on one lab: after the first, the API names B while DNS still names A.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCheck } from '../../src/core/check.ts';
import { parseConfig } from '../../src/core/config.ts';
import type { Config } from '../../src/core/config.ts';
import { WriterLookupError } from '../../src/core/aurora/errors.ts';
import type { WriterLookup } from '../../src/core/ports.ts';
import type { AlertTransition } from '../../src/core/types.ts';
import { ConsoleNotifier } from '../../src/adapters/local/console.ts';
import { MemoryStore } from '../../src/adapters/local/memory-store.ts';
import { AuroraLab } from '../../lab/aurora.ts';

const T0 = Date.parse('2026-01-15T03:00:00.000Z');
const MINUTE = 60_000;
const A = 'orders-instance-1';
const B = 'orders-instance-2';

let lab: AuroraLab;
let config: Config;
beforeAll(async () => {
  // A DNS lag far longer than the test: the cluster endpoint keeps naming the old writer.
  lab = await AuroraLab.start({ block: 67, script: { swapAfterMs: 50, dnsLagMs: 600_000, restartMs: 100 } });
  // openAfterChecks 1: the writer follow-up is under test, not the warning debounce.
  const input = lab.config();
  config = parseConfig({ ...input, targets: input.targets.map((t) => ({ ...t, openAfterChecks: 1 })) }, 'lab');
});
afterAll(() => lab.stop());

/** A check at `T0 + ms`, collecting its transitions. */
async function checkAt(store: MemoryStore, ms: number, writerLookup?: WriterLookup) {
  const transitions: AlertTransition[] = [];
  const report = await runCheck(config, {
    store,
    notifier: new ConsoleNotifier((t) => transitions.push(t)),
    clock: { now: () => new Date(T0 + ms) },
    ...(writerLookup ? { writerLookup } : {}),
  });
  return { report, transitions, target: report.targets[0]! };
}

const until = async (cond: () => boolean) => {
  for (let i = 0; i < 100 && !cond(); i++) await new Promise((r) => setTimeout(r, 20));
};

describe('runCheck with an Aurora target', () => {
  it('follows a failover: writer-changed, then dns-lag once the mismatch outlasts the threshold', async () => {
    // Prepare
    const store = new MemoryStore();

    // Act: before, right after the swap, and 75 s later.
    const before = await checkAt(store, 0, lab);
    await lab.failover('orders');
    await until(() => lab.injected?.swappedAt !== undefined && lab.listener(0)?.mode === 'serve');
    const after = await checkAt(store, MINUTE, lab);
    const later = await checkAt(store, MINUTE + 75_000, lab);

    // Assess: the probe is the engine's greeting, not a bare TCP connect.
    expect(before.target.probes[0]).toMatchObject({ ok: true, protocol: 'mysql', details: { serverVersion: expect.stringContaining('mysql_aurora') } });
    expect(before.target.findings.map((f) => f.kind)).toEqual([]);
    expect(before.target.metrics.DnsLagSeconds).toBe(0);
    expect(after.target.findings.map((f) => f.kind)).toEqual(['writer-changed']);
    expect(after.transitions.map((t) => [t.type, t.kind])).toEqual([['event', 'writer-changed']]);
    expect(after.target.findings[0]!.summary).toBe(`orders-db: writer moved ${A} -> ${B} (DNS still names ${A})`);
    expect(after.target.findings[0]!.evidence).toMatchObject({ readerEndpoint: { instance: B } });
    expect(after.target.metrics.DnsLagSeconds).toBe(0);
    expect(later.target.findings.map((f) => f.kind)).toEqual(['dns-lag']);
    expect(later.target.metrics.DnsLagSeconds).toBe(75);
    expect(later.transitions.map((t) => [t.type, t.kind, t.severity])).toEqual([['opened', 'dns-lag', 'warning']]);
    const state = store.states.get('orders-db')!;
    expect(state.aurora).toEqual({
      apiWriter: B,
      dnsWriter: A,
      writerChangedAt: new Date(T0 + MINUTE).toISOString(),
      mismatchSince: new Date(T0 + MINUTE).toISOString(),
    });
    // Newest first: the page that went out (a notice record), the lag's first sighting, the writer change's event notice and the change, the first addresses.
    const history = await store.history('orders-db', 10);
    expect(history.map((c) => c.kind)).toEqual(['alert-opened', 'dns-lag', 'alert-event', 'writer-changed', 'address-set-changed']);
    expect(history[0]).toMatchObject({ key: 'orders-db/dns-lag', severity: 'warning', audience: 'on-call' });
  });

  it('without a writer lookup: probes and addresses only, no writer findings or lag metric', async () => {
    // Prepare
    const store = new MemoryStore();
    // Act
    const { target, report } = await checkAt(store, 0);
    // Assess
    expect(target.metrics).not.toHaveProperty('DnsLagSeconds');
    expect(target.findings).toEqual([]);
    expect(report.errors).toEqual([]);
    expect(store.states.get('orders-db')?.aurora).toEqual({ dnsWriter: A }); // the lab's DNS still lags
  });

  it('a failing writer lookup is a report error, not a crash, and keeps the writer state', async () => {
    // Prepare
    const store = new MemoryStore();
    await checkAt(store, 0, lab);
    const failing: WriterLookup = {
      writer: async (id) => {
        throw new WriterLookupError('throttled', id, 'DescribeDBClusters throttled: Rate exceeded');
      },
    };
    // Act
    const { report, target } = await checkAt(store, MINUTE, failing);
    // Assess
    expect(report.errors).toEqual(['writer lookup orders-db: DescribeDBClusters throttled: Rate exceeded']);
    expect(target.findings).toEqual([]);
    expect(target.metrics).not.toHaveProperty('DnsLagSeconds');
    expect(store.states.get('orders-db')?.aurora?.apiWriter).toBe(B);
  });
});
