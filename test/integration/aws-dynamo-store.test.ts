import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { DynamoStore, DYNAMO_LIMITS, TransactionTooLargeError } from '../../src/adapters/aws/dynamo-store.ts';
import { dynamoItemSize } from '../../src/adapters/aws/item-size.ts';
import { TABLE_KEYS } from '../../src/contract.ts';
import { diffAddresses } from '../../src/core/diff.ts';
import { LIMITS } from '../../src/core/constants.ts';
import { StateError, VersionConflictError } from '../../src/core/ports.ts';
import type { AddressRecord, AlertState, ChangeRecord, ResolutionOk, TargetState } from '../../src/core/types.ts';
import { startLocalDynamo } from './aws-dynalite.ts';
import type { LocalDynamo } from './aws-dynalite.ts';
import { STATE_SCHEMA_VERSION } from '../../src/core/constants.ts';

const T0 = Date.parse('2026-03-01T00:00:00.000Z');
const iso = (minutes: number) => new Date(T0 + minutes * 60_000).toISOString();
const SECONDS_PER_DAY = 86_400;
const HISTORY_DAYS = 30;

function alert(target: string, kind: AlertState['kind'], extra: Partial<AlertState> = {}): AlertState {
  return {
    status: 'open',
    key: `${target}/${kind}`,
    target,
    kind,
    severity: 'warning',
    openedAt: iso(0),
    lastSeenAt: iso(0),
    notifications: 0,
    absentChecks: 0,
    summary: `${target}: ${kind}`,
    // `undefined` inside evidence is normal engine output; the store must not choke on it.
    finding: {
      key: `${target}/${kind}`,
      target,
      kind,
      severity: 'warning',
      summary: `${target}: ${kind}`,
      evidence: { addresses: ['10.0.0.1'], complete: undefined },
      advice: 'do something',
    },
    ...extra,
  };
}

function state(target: string, version: number, alerts: AlertState[] = [], addresses: AddressRecord[] = []): TargetState {
  return {
    schemaVersion: STATE_SCHEMA_VERSION,
    target,
    version,
    updatedAt: iso(version),
    addresses,
    latencies: [3, 4, 5],
    aurora: { apiWriter: 'orders-1', dnsWriter: 'orders-1' },
    alerts: Object.fromEntries(alerts.map((a) => [a.key, a])),
  };
}

const change = (target: string, minutes: number, summary = `change at ${minutes}`): ChangeRecord => ({
  at: iso(minutes),
  target,
  kind: 'address-set-changed',
  summary,
  added: ['10.0.0.2'],
  removed: ['10.0.0.1'],
});

describe('DynamoStore against dynalite', () => {
  let local: LocalDynamo;
  const table = 'ipdrift-test';
  const store = (now = T0) => new DynamoStore(local.doc, table, { clock: { now: () => new Date(now) } });
  const rawItems = async (target: string) =>
    (await local.doc.send(new QueryCommand({ TableName: table, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': `target#${target}` } })))
      .Items ?? [];

  beforeAll(async () => {
    local = await startLocalDynamo();
    await local.createTable(table);
  });
  afterAll(async () => {
    await local.stop();
  });

  it('round-trips a state with its alerts, and writes the change items with a TTL', async () => {
    // Prepare
    const s = store();
    const saved = state(
      'rt',
      1,
      [alert('rt', 'retired-address-dead'), alert('rt', 'current-address-unhealthy', { lastNotifiedAt: iso(1), notifications: 1 })],
      [
        { address: '10.0.0.1', firstSeen: iso(0), lastSeen: iso(1), retiredAt: iso(1), lastProbe: { at: iso(1), ok: false, latencyMs: 12, error: 'refused' } },
        { address: '10.0.0.2', firstSeen: iso(1), lastSeen: iso(1), identity: 'srv' },
      ],
    );
    // Act
    await s.save(saved, 0, [change('rt', 1)]);
    const loaded = await store().load(['rt', 'never-saved']);
    // Assess
    expect(loaded.get('never-saved')).toBeUndefined();
    const expected = structuredClone(saved);
    delete (expected.alerts['rt/retired-address-dead']!.finding!.evidence as Record<string, unknown>).complete;
    delete (expected.alerts['rt/current-address-unhealthy']!.finding!.evidence as Record<string, unknown>).complete;
    expect(loaded.get('rt')).toEqual(expected);
    const items = await rawItems('rt');
    expect(items.map((i) => i.sk).sort()).toEqual([
      'alert#rt/current-address-unhealthy',
      'alert#rt/retired-address-dead',
      expect.stringMatching(/^change#2026-03-01T00:01:00\.000Z#0000000001-0000$/),
      'state',
    ]);
    const changeItem = items.find((i) => String(i.sk).startsWith('change#'))!;
    expect(changeItem[TABLE_KEYS.ttlAttribute]).toBe(Math.floor((T0 + 60_000) / 1000) + HISTORY_DAYS * SECONDS_PER_DAY);
    expect(changeItem).toMatchObject({ target: 'rt', kind: 'address-set-changed', added: ['10.0.0.2'], removed: ['10.0.0.1'] });
    expect(items.find((i) => i.sk === 'state')).toMatchObject({ version: 1, alertIndex: { 'rt/retired-address-dead': 1, 'rt/current-address-unhealthy': 1 } });
  });

  it('deletes the items of closed alerts, also from another instance (another invocation) with no cache', async () => {
    // Prepare
    const a = alert('del', 'retired-address-dead');
    const b = alert('del', 'resolution-failed');
    await store().save(state('del', 1, [a, b]), 0, []);
    const first = store();
    const v1 = (await first.load(['del'])).get('del')!;
    // Act: the same instance closes b; a fresh instance (cold start) closes a.
    await first.save({ ...v1, version: 2, alerts: { [a.key]: a } }, 1, []);
    const afterFirst = (await rawItems('del')).map((i) => i.sk).sort();
    await store().save({ ...v1, version: 3, alerts: {} }, 2, []);
    // Assess
    expect(afterFirst).toEqual(['alert#del/retired-address-dead', 'state']);
    expect((await rawItems('del')).map((i) => i.sk)).toEqual(['state']);
    expect((await store().load(['del'])).get('del')).toMatchObject({ version: 3, alerts: {} });
  });

  it('does not rewrite an alert item that did not change', async () => {
    // Prepare
    const a = alert('same', 'retired-address-dead');
    await store().save(state('same', 1, [a]), 0, []);
    const s = store();
    const v1 = (await s.load(['same'])).get('same')!;
    // Act: same alerts, new latencies.
    await s.save({ ...v1, version: 2, latencies: [9] }, 1, []);
    // Assess: the alert item keeps the version that wrote it, and the state still points at it.
    const items = await rawItems('same');
    expect(items.find((i) => i.sk === 'alert#same/retired-address-dead')).toMatchObject({ savedVersion: 1 });
    expect(items.find((i) => i.sk === 'state')).toMatchObject({ version: 2, alertIndex: { 'same/retired-address-dead': 1 } });
    expect((await store().load(['same'])).get('same')).toMatchObject({
      version: 2,
      latencies: [9],
      alerts: { [a.key]: expect.objectContaining({ key: a.key, openedAt: a.openedAt }) },
    });
  });

  it('refuses a save based on a stale version (two writers), and the first write is not lost', async () => {
    // Prepare: two invocations read version 1.
    await store().save(state('race', 1, [alert('race', 'retired-address-dead')]), 0, []);
    const writerA = store();
    const writerB = store();
    const [a, b] = [(await writerA.load(['race'])).get('race')!, (await writerB.load(['race'])).get('race')!];
    // Act
    await writerA.save({ ...a, version: 2, latencies: [1], alerts: {} }, 1, [change('race', 2, 'from A')]);
    const second = writerB.save({ ...b, version: 2, latencies: [2] }, 1, [change('race', 2, 'from B')]);
    // Assess
    await expect(second).rejects.toBeInstanceOf(VersionConflictError);
    await expect(second).rejects.toMatchObject({
      target: 'race',
      expectedVersion: 1,
      cause: expect.objectContaining({ name: 'TransactionCanceledException' }),
    });
    expect((await store().load(['race'])).get('race')).toMatchObject({ version: 2, latencies: [1], alerts: {} });
    expect((await store().history('race', 10)).map((c) => c.summary)).toEqual(['from A']);
    expect((await rawItems('race')).map((i) => i.sk)).not.toContain('alert#race/retired-address-dead');
  });

  it('refuses a second "first save" of the same target', async () => {
    // Prepare
    await store().save(state('twice', 1), 0, []);
    // Act
    const again = store().save(state('twice', 1, [], []), 0, []);
    // Assess
    await expect(again).rejects.toBeInstanceOf(VersionConflictError);
  });

  it('lists history newest first, bounded by the limit, without expired items', async () => {
    // Prepare: four saves, one change each; then one change item past its TTL that DynamoDB has not deleted yet.
    const s = store();
    for (let v = 1; v <= 4; v++) await s.save(state('hist', v), v - 1, [change('hist', v)]);
    await local.doc.send(
      new PutCommand({
        TableName: table,
        Item: {
          pk: 'target#hist',
          sk: `change#${iso(9)}#expired`,
          at: iso(9),
          target: 'hist',
          kind: 'alert-opened',
          summary: 'expired',
          [TABLE_KEYS.ttlAttribute]: Math.floor(T0 / 1000) - 1,
        },
      }),
    );
    // Act
    const three = await store().history('hist', 3);
    const all = await store().history('hist', 100);
    // Assess
    expect(three.map((c) => c.summary)).toEqual(['change at 4', 'change at 3', 'change at 2']);
    expect(all.map((c) => c.summary)).toEqual(['change at 4', 'change at 3', 'change at 2', 'change at 1']);
    expect(await store().history('hist', 0)).toEqual([]);
  });

  it('writes change records that do not fit in the transaction with BatchWrite', async () => {
    // Prepare
    const many = Array.from({ length: 110 }, (_, i) => change('overflow', 1, `c${i}`));
    // Act
    await store().save(state('overflow', 1), 0, many);
    // Assess
    const history = await store().history('overflow', 500);
    expect(history).toHaveLength(110);
    expect(history[0]!.summary).toBe('c109');
  });

  it('keeps the state item far below 400 KB for a target that churned 1,000 addresses', async () => {
    // Prepare: 1,000 checks, each replacing one of four addresses with a new one, all retained (30 days).
    const retain = 43_200;
    let records: AddressRecord[] = [];
    let current = ['10.1.0.0', '10.1.0.1', '10.1.0.2', '10.1.0.3'];
    for (let i = 0; i < 1000; i++) {
      current = [...current.slice(1), `10.${2 + Math.floor(i / 250)}.${Math.floor(i / 250)}.${i % 250}`];
      const resolution: ResolutionOk = {
        ok: true,
        host: 'churn.elb.test',
        queried: 'churn.elb.test',
        addresses: current.map((address) => ({ address, family: 4, ttl: 60 })),
        cname: [],
        complete: true,
        lookups: 1,
        durationMs: 1,
      };
      records = diffAddresses(records, resolution, new Date(T0 + i * 60_000), retain).addresses.map((r) => ({
        ...r,
        identity: 'ipdrift-lab-node',
        lastProbe: { at: iso(i), ok: false, latencyMs: 2000, error: 'connect ETIMEDOUT 10.200.200.200:8080 after 2000 ms' },
      }));
    }
    const big = state(
      'churn',
      1,
      [
        alert('churn', 'retired-address-dead', {
          finding: {
            key: 'churn/retired-address-dead',
            target: 'churn',
            kind: 'retired-address-dead',
            severity: 'warning',
            summary: 'many',
            evidence: { addresses: records.map((r) => ({ address: r.address, retiredAt: r.retiredAt, probe: 'timeout' })) },
            advice: 'x',
          },
        }),
      ],
      records,
    );
    // Act
    await store().save(big, 0, []);
    const item = (await local.doc.send(new GetCommand({ TableName: table, Key: { pk: 'target#churn', sk: 'state' } }))).Item!;
    const alertItem = (await local.doc.send(new GetCommand({ TableName: table, Key: { pk: 'target#churn', sk: 'alert#churn/retired-address-dead' } }))).Item!;
    const bytes = dynamoItemSize(item);
    // Assess
    console.log(`state item for 1,000 churned addresses: ${bytes} bytes (${records.length} records); alert item ${dynamoItemSize(alertItem)} bytes`);
    expect(records.filter((r) => r.retiredAt !== undefined)).toHaveLength(LIMITS.maxRetiredAddresses);
    expect(bytes).toBeLessThan(DYNAMO_LIMITS.itemBytes / 4);
    expect(dynamoItemSize(alertItem)).toBeLessThan(DYNAMO_LIMITS.itemBytes / 4);
    expect((await store().load(['churn'])).get('churn')!.addresses).toHaveLength(records.length);
  });

  it('refuses, before writing anything, alerts that would not fit in one transaction', async () => {
    // Prepare
    const alerts = Array.from({ length: DYNAMO_LIMITS.transactItems }, (_, i) => ({
      ...alert('huge', 'address-set-changed'),
      key: `huge/address-set-changed@${i}`,
      event: true,
    }));
    // Act
    const save = store().save(state('huge', 1, alerts), 0, []);
    // Assess
    await expect(save).rejects.toBeInstanceOf(TransactionTooLargeError);
    expect(await rawItems('huge')).toEqual([]);
  });

  it('reports an alert item that does not match the state (edited by hand) instead of guessing', async () => {
    // Prepare
    await store().save(state('torn', 1, [alert('torn', 'resolution-failed')]), 0, []);
    await local.doc.send(
      new PutCommand({
        TableName: table,
        Item: {
          pk: 'target#torn',
          sk: 'alert#torn/resolution-failed',
          savedVersion: 7,
          alert: JSON.parse(JSON.stringify(alert('torn', 'resolution-failed'))) as AlertState,
        },
      }),
    );
    // Act
    const load = store().load(['torn']);
    // Assess
    await expect(load).rejects.toBeInstanceOf(StateError);
    await expect(load).rejects.toThrow(/alert items do not match state version 1/);
  });

  it('reports a foreign state item and leaves it alone', async () => {
    // Prepare
    await local.doc.send(new PutCommand({ TableName: table, Item: { pk: 'target#foreign', sk: 'state', hello: 'world' } }));
    // Act
    const load = store().load(['foreign']);
    // Assess
    await expect(load).rejects.toBeInstanceOf(StateError);
    await expect(load).rejects.toThrow(`dynamodb:${table}/target#foreign`);
    expect(await rawItems('foreign')).toEqual([{ pk: 'target#foreign', sk: 'state', hello: 'world' }]);
  });
});
