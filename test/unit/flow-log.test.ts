/** Flow log records: the parser over AWS's documented examples, the matcher, the lab's writer. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_FLOW_FORMAT, FlowFormatError, flowFields, parseFlowFormat, parseFlowLine, staleClients } from '../../src/core/flow-log.ts';
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

  it('groups by instance, else interface, else source address; ACCEPT and REJECT alike; only after `since`, on the port', () => {
    // Prepare
    const records = [
      rec({}),
      rec({ start: T + 60, action: 'REJECT', packets: 1 }),
      rec({ instanceId: 'i-0abc', interfaceId: 'eni-x' }),
      rec({ interfaceId: undefined, srcaddr: '10.0.9.9' }),
      rec({ start: T - 1 }), // before the address could be in any honest cache
      rec({ dstport: 80 }), // another port
      rec({ dstaddr: '10.0.0.220', pktDstaddr: '10.0.1.5', interfaceId: 'eni-nat' }), // through a NAT: the packet's destination counts
    ];
    // Act
    const clients = staleClients(records, watch);
    // Assess
    expect(clients.map((c) => [c.client, c.clientKind, c.records, c.packets])).toEqual([
      ['10.0.9.9', 'address', 1, 3],
      ['eni-client1', 'interface', 2, 4],
      ['eni-nat', 'interface', 1, 3],
      ['i-0abc', 'instance', 1, 3],
    ]);
    const eni = clients.find((c) => c.client === 'eni-client1')!;
    expect(eni).toMatchObject({
      sourceAddress: '10.0.5.7',
      address: '10.0.1.5',
      port: 443,
      first: T * 1000,
      last: (T + 60) * 1000,
      actions: ['ACCEPT', 'REJECT'],
    });
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
