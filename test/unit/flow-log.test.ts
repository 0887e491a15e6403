/** Flow log records: the parser over AWS's documented examples, the matcher, the lab's writer. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_FLOW_FORMAT, FlowFormatError, clientEvidence, flowFields, parseFlowFormat, parseFlowLine, staleClients } from '../../src/core/flow-log.ts';
import type { FlowRecord } from '../../src/core/flow-log.ts';
import { LAB_V5_FORMAT, LabFlowLog, labInterfaceOf } from '../../lab/flow-log.ts';

const FIXTURES = join(import.meta.dirname, '../fixtures/flow-logs');
const read = (name: string) => readFileSync(join(FIXTURES, name), 'utf8');
const linesOf = (name: string) =>
  read(name)
    .split('\n')
    .filter((l) => l !== '');
const parseAll = (name: string, format: string) => {
  const fields = flowFields(format);
  return linesOf(name).map((l) => parseFlowLine(l, fields));
};

describe('the documented records (test/fixtures/flow-logs, source in SOURCE.md)', () => {
  it('default format: accepted, rejected, IPv6 records; NODATA and SKIPDATA are no records', () => {
    // Act
    const parsed = parseAll('docs-default.log', DEFAULT_FLOW_FORMAT);
    // Assess
    expect(parsed.map((p) => Object.keys(p)[0])).toEqual(['record', 'record', 'skipped', 'skipped', 'record', 'record', 'record']);
    expect(parsed[2]).toEqual({ skipped: 'nodata' });
    expect(parsed[3]).toEqual({ skipped: 'skipdata' });
    expect(parsed[0]).toEqual({
      record: {
        srcaddr: '172.31.16.139',
        dstaddr: '172.31.16.21',
        dstport: 22,
        packets: 20,
        start: 1418530010,
        end: 1418530070,
        action: 'ACCEPT',
        interfaceId: 'eni-1235b8ca123456789',
      },
    });
    expect(parsed[1]).toMatchObject({ record: { dstport: 3389, action: 'REJECT' } });
    expect(parsed[6]).toMatchObject({
      record: { srcaddr: '2001:db8:1234:a100:8d6e:3477:df66:f105', dstaddr: '2001:db8:1234:a102:3304:8879:34cf:4071', dstport: 22 },
    });
  });

  it('a version 5 custom format (bare field names): instance, packet addresses, flow direction; usable for matching', () => {
    expect(parseFlowFormat(read('docs-v5.format'))).toHaveLength(29);
    // Act
    const [ingress, egress] = parseAll('docs-v5.log', read('docs-v5.format'));
    // Assess
    expect(ingress).toMatchObject({ record: { instanceId: 'i-0c50d5961bcb2d47b', flowDirection: 'ingress', pktSrcaddr: '52.95.128.179', dstport: 34210 } });
    expect(egress).toMatchObject({ record: { flowDirection: 'egress', dstaddr: '52.95.128.179', dstport: 80, packets: 7 } });
  });

  it("the NAT gateway format: `-` is absent, packet addresses differ from the interface's, the page's # comments are ignored", () => {
    // Act
    const parsed = parseAll('docs-nat.log', read('docs-nat.format'));
    // Assess
    expect(parsed).toHaveLength(6);
    expect(parsed[0]).toEqual({
      record: { srcaddr: '10.0.1.5', dstaddr: '10.0.0.220', pktSrcaddr: '10.0.1.5', pktDstaddr: '203.0.113.5', interfaceId: 'eni-1235b8ca123456789' },
    });
    expect(parsed[4]).toMatchObject({ record: { instanceId: 'i-01234567890123456', dstaddr: '203.0.113.5' } });
    // Without ports and times the records cannot be matched: a flow log in that format is refused.
    expect(() => parseFlowFormat(read('docs-nat.format'))).toThrow('the format lacks dstport, start');
  });
});

describe('parseFlowFormat and parseFlowLine', () => {
  it.each([
    // biome-ignore lint/suspicious/noTemplateCurlyInString: AWS's flow log format syntax (${field}), not a template
    ['${version} ${srcaddr} ${dstaddr} ${dstport} ${start} ${colour}', 'unknown field(s) "colour"'],
    // biome-ignore lint/suspicious/noTemplateCurlyInString: AWS's flow log format syntax (${field}), not a template
    ['${version} ${srcaddr} ${dstport} ${start}', 'the format lacks dstaddr or pkt-dstaddr'],
    // biome-ignore lint/suspicious/noTemplateCurlyInString: AWS's flow log format syntax (${field}), not a template
    ['${version} ${srcaddr} ${dstaddr} ${start}', 'the format lacks dstport'],
  ])('refuses %s', (format, message) => {
    expect(() => parseFlowFormat(format)).toThrow(FlowFormatError);
    expect(() => parseFlowFormat(format)).toThrow(message);
  });

  it('calls a line with the wrong number of values malformed, and a blank one blank', () => {
    const fields = parseFlowFormat(DEFAULT_FLOW_FORMAT);
    expect(parseFlowLine('2 123 eni-1 10.0.0.1', fields)).toEqual({ malformed: '4 values for 14 fields' });
    expect(parseFlowLine('   ', fields)).toEqual({ skipped: 'blank' });
  });
});

describe('staleClients', () => {
  const T = 1_800_000_000;
  const rec = (over: Partial<FlowRecord>): FlowRecord => ({
    srcaddr: '10.0.5.7',
    dstaddr: '10.0.1.5',
    dstport: 443,
    packets: 3,
    start: T,
    action: 'ACCEPT',
    interfaceId: 'eni-client1',
    ...over,
  });
  const watch = [{ address: '10.0.1.5', port: 443, since: T * 1000 }];

  it('one client per source address; ACCEPT and REJECT alike; only after `since`, on the port; the packet addresses through a NAT', () => {
    // Prepare
    const records = [
      rec({}),
      rec({ start: T + 60, action: 'REJECT', packets: 1 }),
      rec({ instanceId: 'i-0abc', interfaceId: 'eni-x', srcaddr: '10.0.5.8' }),
      rec({ interfaceId: undefined, srcaddr: '10.0.9.9' }),
      rec({ start: T - 1 }), // before the address could be in any honest cache
      rec({ dstport: 80 }), // another port
      rec({ srcaddr: '10.0.0.220', dstaddr: '10.0.0.221', pktSrcaddr: '10.0.7.1', pktDstaddr: '10.0.1.5', interfaceId: 'eni-nat' }),
    ];
    // Act
    const clients = staleClients(records, watch);
    // Assess: an instance id names its client (an ELB node has none); an interface alone says nothing of its side.
    expect(clients.map((c) => [c.client, c.clientKind, c.sourceAddress, c.records, c.packets])).toEqual([
      ['10.0.5.7', 'address', '10.0.5.7', 2, 4],
      ['10.0.7.1', 'address', '10.0.7.1', 1, 3],
      ['10.0.9.9', 'address', '10.0.9.9', 1, 3],
      ['i-0abc', 'instance', '10.0.5.8', 1, 3],
    ]);
    expect(clients[0]).toMatchObject({ address: '10.0.1.5', port: 443, first: T * 1000, last: (T + 60) * 1000, actions: ['ACCEPT', 'REJECT'] });
  });

  // The shapes below are the documented ones (Flow log records, "Available fields": `interface-id`
  // is the interface the traffic is recorded for; `flow-direction` is ingress or egress "with
  // respect to the interface where traffic is captured"; `instance-id` is "-" for an interface
  // no instance owns, as an ELB node's), in the v5 format of docs-v5.format and the v2 default.
  const fields5 = parseFlowFormat(LAB_V5_FORMAT);
  const v5 = (line: string) => (parseFlowLine(line, fields5) as { record: FlowRecord }).record;

  it('v5: one connection recorded at the client (egress) and at the ELB node (ingress) is one client, named by its instance, both ends in its evidence', () => {
    // Prepare: the same flow twice, as a whole-VPC flow log writes it.
    const records = [
      v5(`5 123456789012 eni-0client00000000001 i-0c50d5961bcb2d47b 10.0.5.7 10.0.1.5 40001 443 6 12 2400 ${T} ${T + 60} ACCEPT OK 2 10.0.5.7 10.0.1.5 egress`),
      v5(`5 123456789012 eni-0elbnode000000001 - 10.0.5.7 10.0.1.5 40001 443 6 12 2400 ${T} ${T + 60} ACCEPT OK 2 10.0.5.7 10.0.1.5 ingress`),
    ];
    // Act
    const [client, ...rest] = staleClients(records, watch);
    // Assess
    expect(rest).toEqual([]);
    expect(client).toMatchObject({ client: 'i-0c50d5961bcb2d47b', clientKind: 'instance', sourceAddress: '10.0.5.7', packets: 12, records: 2, opened: 2 });
    expect(client!.ends).toEqual([
      { interfaceId: 'eni-0client00000000001', side: 'client', packets: 12, records: 1 },
      { interfaceId: 'eni-0elbnode000000001', side: 'destination', packets: 12, records: 1 },
    ]);
    expect(clientEvidence(client!).recordedAt).toEqual(["eni-0client00000000001 (the client's)", "eni-0elbnode000000001 (the ELB node's)"]);
  });

  it("v5: a client in a peered VPC is seen only at the ELB node's interface: named by its address, never by the ELB's interface", () => {
    // Act
    const clients = staleClients(
      [v5(`5 123456789012 eni-0elbnode000000001 - 172.16.4.9 10.0.1.5 51000 443 6 5 300 ${T} ${T + 60} ACCEPT OK 2 172.16.4.9 10.0.1.5 ingress`)],
      watch,
    );
    // Assess
    expect(clients.map((c) => [c.client, c.clientKind])).toEqual([['172.16.4.9', 'address']]);
  });

  it('v2 (no direction): both ends are one client named by its address; an interface that receives from two sources, or one the ledger knows, is the ELB node’s', () => {
    // Prepare
    const fields2 = parseFlowFormat(DEFAULT_FLOW_FORMAT);
    const v2 = (line: string) => (parseFlowLine(line, fields2) as { record: FlowRecord }).record;
    const records = [
      v2(`2 123456789012 eni-0client00000000001 10.0.5.7 10.0.1.5 40001 443 6 12 2400 ${T} ${T + 60} ACCEPT OK`),
      v2(`2 123456789012 eni-0elbnode000000001 10.0.5.7 10.0.1.5 40001 443 6 12 2400 ${T} ${T + 60} ACCEPT OK`),
      v2(`2 123456789012 eni-0elbnode000000001 172.16.4.9 10.0.1.5 51000 443 6 5 300 ${T} ${T + 60} ACCEPT OK`),
    ];
    // Act
    const clients = staleClients(records, watch);
    const alone = staleClients([records[1]!], watch, { destinationInterfaces: new Set(['eni-0elbnode000000001']) });
    // Assess
    expect(clients.map((c) => [c.client, c.records, c.packets, c.ends!.map((e) => `${e.interfaceId}:${e.side}`)])).toEqual([
      ['10.0.5.7', 2, 12, ['eni-0client00000000001:unknown', 'eni-0elbnode000000001:destination']],
      ['172.16.4.9', 1, 5, ['eni-0elbnode000000001:destination']],
    ]);
    expect(alone.map((c) => [c.client, c.ends![0]!.side])).toEqual([['10.0.5.7', 'destination']]);
  });

  it('a row that aggregates records counts them all, and is current by its last start', () => {
    // Act
    const [c] = staleClients([rec({ start: T - 600, lastStart: T + 30, records: 40, packets: 120 })], watch);
    // Assess
    expect(c).toMatchObject({ records: 40, packets: 120, first: T * 1000, last: (T + 30) * 1000 });
  });

  it('never names an ignored source (the monitor)', () => {
    expect(staleClients([rec({ srcaddr: '10.0.8.4' })], watch, { ignore: ['10.0.8.0/24'] })).toEqual([]);
  });
});

describe("the lab's writer", () => {
  it.each([
    ['default', DEFAULT_FLOW_FORMAT],
    ['custom v5', LAB_V5_FORMAT],
  ])('writes %s records the parser reads back', (_name, format) => {
    // Prepare
    const log = new LabFlowLog('/dev/null', format);
    // Act
    const line = log.line({ srcaddr: '127.0.70.50', srcport: 40000, dstaddr: '127.0.70.11', dstport: 8080, at: 1_800_000_000_000 });
    const back = parseFlowLine(line, parseFlowFormat(format));
    // Assess
    expect(back).toMatchObject({
      record: {
        srcaddr: '127.0.70.50',
        dstaddr: '127.0.70.11',
        dstport: 8080,
        start: 1_800_000_000,
        action: 'ACCEPT',
        interfaceId: labInterfaceOf('127.0.70.50'),
      },
    });
    expect(line.split(' ')[0]).toBe(format === DEFAULT_FLOW_FORMAT ? '2' : '5');
  });
});
