/**
 * An ELB's interface calls end to end: the monitor handler takes the CloudTrail events (built
 * from AWS's documented records, test/fixtures/events), remembers each created interface's
 * addresses in DynamoDB (dynalite) and, when the ELB deletes the interface, records those
 * addresses as released in the target's history, next to what the probes say. Lab DNS and lab
 * nodes on loopback; SNS and CloudWatch are not involved (no notifier traffic is asserted here).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { LabDnsServer } from '../../lab/dns-server.ts';
import { LabNode } from '../../lab/nodes.ts';
import { createHandler } from '../../src/lambda/monitor.ts';
import type { CheckSummary } from '../../src/lambda/monitor.ts';
import { DynamoStore } from '../../src/adapters/aws/dynamo-store.ts';
import { DynamoInterfaceLedger, INTERFACE_LEDGER_SCHEMA, InterfaceLedgerError } from '../../src/adapters/aws/interface-ledger.ts';
import { parseConfig } from '../../src/core/config.ts';
import type { EngineLogger } from '../../src/core/ports.ts';
import { TABLE_KEYS } from '../../src/contract.ts';
import { eniCreate, eniDelete } from '../fixtures/events/eni-calls.ts';
import { startLocalDynamo } from './aws-dynalite.ts';
import type { LocalDynamo } from './aws-dynalite.ts';

// Addresses of this file: 127.0.66.0/24.
const ADDR = { dns: '127.0.66.1', old: ['127.0.66.11', '127.0.66.12'], new: ['127.0.66.21', '127.0.66.22'] } as const;
const ELB = 'internal-app-66.elb.test';
const TABLE = 'ipdrift-interfaces';
const T0 = Date.UTC(2026, 11, 1, 10, 0, 0);
const MINUTE_MS = 60_000;
const iso = (minute: number) => new Date(T0 + minute * MINUTE_MS).toISOString();
const ENI = { a: 'eni-0aaaaaaaaaaaaaaa1', b: 'eni-0aaaaaaaaaaaaaaa2' } as const;

const quietLogger = (): EngineLogger & { errors: string[] } => {
  const errors: string[] = [];
  return { info: () => undefined, warn: () => undefined, error: (m) => void errors.push(m), errors };
};
const context = { getRemainingTimeInMillis: () => 30_000 };

describe('ELB interface calls: created interfaces remembered, deleted ones released', () => {
  let dns: LabDnsServer;
  let nodes: LabNode[];
  let local: LocalDynamo;

  beforeAll(async () => {
    dns = await LabDnsServer.start({ host: ADDR.dns });
    const first = await LabNode.start({ host: ADDR.old[0] });
    nodes = [first, ...(await Promise.all([ADDR.old[1], ...ADDR.new].map((host) => LabNode.start({ host, port: first.port }))))];
    local = await startLocalDynamo();
    await local.createTable(TABLE);
  });
  afterAll(async () => {
    await Promise.all([...nodes.map((n) => n.stop()), dns.stop(), local.stop()]);
  });

  const setElb = (addresses: readonly string[]) => {
    dns.setA(ELB, addresses, 1);
    dns.setA(`all.${ELB}`, addresses, 1);
  };

  it("a node replacement: the deleted interface's address is recorded released, once, beside the probe that found it dead", async () => {
    // Prepare
    setElb(ADDR.old);
    const config = parseConfig({
      resolvers: [dns.address],
      allowLoopback: true,
      targets: [
        { name: 'app-alb', type: 'elb', host: ELB, port: nodes[0]!.port, timeoutMs: 300, openAfterChecks: 1, probe: { protocol: 'http', path: '/health' } },
      ],
    });
    let minute = 0;
    const clock = { now: () => new Date(T0 + minute * MINUTE_MS) };
    const store = new DynamoStore(local.doc, TABLE, { clock });
    const ledger = new DynamoInterfaceLedger(local.doc, TABLE);
    const logger = quietLogger();
    const handler = createHandler({ store, ledger, notifier: { notify: async () => undefined }, loadConfig: async () => config, clock, logger });
    const at = async (m: number, event: unknown): Promise<CheckSummary> => {
      minute = m;
      return handler(event, context);
    };

    // Act
    // The interfaces of the old nodes are created (the ledger learns their addresses), each call a check.
    const createdA = await at(1, eniCreate({ interfaceId: ENI.a, at: iso(1), addresses: [ADDR.old[0]] }));
    await at(2, eniCreate({ interfaceId: ENI.b, at: iso(2), addresses: [ADDR.old[1]] }));
    // The ELB replaces its nodes: DNS names the new ones; the old ones are retired.
    setElb(ADDR.new);
    await at(3, { 'detail-type': 'Scheduled Event' });
    // The ELB deletes the first old interface; its address no longer answers.
    await nodes[0]!.setMode('refuse');
    const deleted = await at(10, eniDelete({ interfaceId: ENI.a, at: iso(10) }));
    // EventBridge delivers the same event again; then a deletion of an interface created before the ledger existed.
    const redelivered = await at(11, eniDelete({ interfaceId: ENI.a, at: iso(10) }));
    const unknown = await at(12, eniDelete({ interfaceId: 'eni-0bbbbbbbbbbbbbbb9', at: iso(12) }));
    // A Create delivered again after the Delete brings nothing back.
    const lateCreate = await ledger.record({ call: 'CreateNetworkInterface', interfaceId: ENI.a, at: iso(1), addresses: [ADDR.old[0]] });

    // Assess
    expect(createdA).toMatchObject({ ok: true, trigger: `elb-network-interface CreateNetworkInterface ${ENI.a}` });
    expect(createdA.released).toBeUndefined();
    expect(deleted).toMatchObject({ ok: true, released: [ADDR.old[0]], errors: [] });
    expect(deleted.findingsByKind['retired-address-dead']).toBe(1);
    expect(redelivered).toMatchObject({ ok: true, errors: [] });
    expect(redelivered.released).toBeUndefined();
    expect(unknown.released).toBeUndefined();
    expect(lateCreate).toEqual({ released: [], assigned: [] });
    expect(logger.errors).toEqual([]);
    const state = (await store.load(['app-alb'])).get('app-alb')!;
    const byAddress = new Map(state.addresses.map((r) => [r.address, r]));
    expect(byAddress.get(ADDR.old[0])).toMatchObject({ retiredAt: iso(3), released: { at: iso(10), interfaceId: ENI.a }, lastProbe: { ok: false } });
    expect(byAddress.get(ADDR.old[1])!.released).toBeUndefined();
    const history = await store.history('app-alb', 20);
    const releases = history.filter((c) => c.kind === 'address-released');
    expect(releases).toEqual([
      expect.objectContaining({
        at: iso(10),
        removed: [ADDR.old[0]],
        summary: `app-alb: ${ADDR.old[0]} released by the ELB at ${iso(10)} (interface ${ENI.a} deleted); retired ${iso(3)}`,
      }),
    ]);
    // The ledger keeps the deleted interface a week (a redelivery answers the same), then TTL removes it.
    const item = (await local.doc.send(new GetCommand({ TableName: TABLE, Key: { pk: `${TABLE_KEYS.interfacePrefix}${ENI.a}`, sk: TABLE_KEYS.interfaceSk } })))
      .Item!;
    expect(item).toMatchObject({
      addresses: [ADDR.old[0]],
      createdAt: iso(1),
      deletedAt: iso(10),
      description: 'ELB app/my-alb/50dc6c495c0c9188',
      [TABLE_KEYS.ttlAttribute]: (T0 + 10 * MINUTE_MS) / 1000 + INTERFACE_LEDGER_SCHEMA.deletedTtlSeconds,
    });
  });

  it('a ledger that fails: logged, the check runs without it', async () => {
    // Prepare
    setElb(ADDR.new);
    const config = parseConfig({
      resolvers: [dns.address],
      allowLoopback: true,
      targets: [{ name: 'other-alb', type: 'elb', host: ELB, port: nodes[0]!.port, timeoutMs: 300, probe: { protocol: 'http', path: '/health' } }],
    });
    const logger = quietLogger();
    const outage = new InterfaceLedgerError(ENI.a, { cause: new Error('connect ECONNREFUSED dynamodb') });
    const handler = createHandler({
      store: new DynamoStore(local.doc, TABLE),
      ledger: { record: async () => Promise.reject(outage) },
      notifier: { notify: async () => undefined },
      loadConfig: async () => config,
      logger,
    });
    // Act
    const summary = await handler(eniDelete({ interfaceId: ENI.a, at: iso(20) }), context);
    // Assess
    expect(summary).toMatchObject({ ok: true, targetsCompleted: 1 });
    expect(summary.errors).toEqual([
      `interfaces: InterfaceLedgerError: interface ledger: could not record ${ENI.a} in DynamoDB (Error: connect ECONNREFUSED dynamodb)`,
    ]);
    expect(logger.errors).toEqual(['interface change not recorded; the check runs without it']);
  });
});
