/** Route 53 Resolver query logs: the parser over AWS's documented example, who asked, and what proves a client will not move. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { askersOf, parseResolverLine, proofFor } from '../../src/core/resolver-log.ts';
import type { ResolverQuery } from '../../src/core/resolver-log.ts';

/** The documented entry (test/fixtures/resolver-logs/SOURCE.md), as one delivered line. */
const DOC = JSON.parse(readFileSync(join(import.meta.dirname, '../fixtures/resolver-logs/docs-example.json'), 'utf8')) as Record<string, unknown>;
const ELB = 'internal-app-123.ap-northeast-2.elb.amazonaws.com';
/** The documented entry as a query for the ELB's name, changing only the named fields. */
const entry = (over: Record<string, unknown>) =>
  JSON.stringify({ ...DOC, query_name: `${ELB}.`, query_type: 'A', answers: [{ Rdata: '10.0.1.5', Type: 'A', Class: 'IN' }], ...over });
const parsed = (line: string) => (parseResolverLine(line) as { query: ResolverQuery }).query;

describe('parseResolverLine', () => {
  it('reads the documented entry: time, the name without its trailing dot, source, instance, answers', () => {
    // Act
    const p = parseResolverLine(JSON.stringify(DOC));
    // Assess
    expect(p).toEqual({
      query: {
        at: Date.parse('2021-02-04T17:51:55Z'),
        name: '15.3.4.32.in-addr.arpa',
        srcaddr: '4.5.64.102',
        instance: 'i-0d15cd0d3example',
        answers: ['203.0.113.9'],
      },
    });
  });

  it.each([
    ['{"query_name": "a.example."', 'not JSON'],
    ['[1, 2]', 'not a JSON object'],
    ['{"query_name": "a.example."}', 'no query_name or query_timestamp'],
  ])('calls %s malformed (%s); a blank line blank', (line, why) => {
    expect(parseResolverLine(line)).toEqual({ malformed: why });
    expect(parseResolverLine('  ')).toEqual({ skipped: 'blank' });
  });

  it('a name in capitals is the same name; no instance when the Resolver names none', () => {
    const q = parsed(entry({ query_name: `${ELB.toUpperCase()}.`, srcids: {} }));
    expect([q.name, q.instance]).toEqual([ELB, undefined]);
  });
});

describe('askersOf', () => {
  it('one asker per host: by the name, or by an answer naming an ELB address (an alias ipdrift does not know); others are not asking', () => {
    // Prepare
    const lines = [
      entry({ srcaddr: '10.0.5.7', query_timestamp: '2026-12-06T10:00:00Z' }),
      entry({ srcaddr: '10.0.5.7', query_timestamp: '2026-12-06T10:05:00Z' }),
      entry({ srcaddr: '10.0.5.8', srcids: { instance: 'i-0b' }, query_name: 'app.internal.example.', query_timestamp: '2026-12-06T10:01:00Z' }),
      entry({ srcaddr: '10.0.5.9', query_name: 'other.example.', answers: [{ Rdata: '10.0.9.9', Type: 'A', Class: 'IN' }] }),
    ];
    // Act
    const askers = askersOf(lines.map(parsed), { names: [ELB], addresses: ['10.0.1.5'] });
    // Assess
    expect(askers).toEqual([
      {
        srcaddr: '10.0.5.7',
        instance: 'i-0d15cd0d3example',
        queries: 2,
        firstAsked: Date.parse('2026-12-06T10:00:00Z'),
        lastAsked: Date.parse('2026-12-06T10:05:00Z'),
      },
      { srcaddr: '10.0.5.8', instance: 'i-0b', queries: 1, firstAsked: Date.parse('2026-12-06T10:01:00Z'), lastAsked: Date.parse('2026-12-06T10:01:00Z') },
    ]);
  });
});

describe('proofFor', () => {
  const change = { at: Date.parse('2026-12-06T10:30:00Z'), name: ELB, address: '10.0.1.5' };
  const asker = (lastAsked: string) => ({ srcaddr: '10.0.5.7', queries: 3, firstAsked: Date.parse('2026-12-06T10:00:00Z'), lastAsked: Date.parse(lastAsked) });
  const from = Date.parse('2026-12-06T09:30:00Z');
  const client = { addresses: new Set(['10.0.5.7']) };

  it('proof: the log knows the host, and its last query was before the change', () => {
    const p = proofFor({ from, askers: [asker('2026-12-06T10:10:00Z')] }, client, change);
    expect(p?.source).toBe('resolver-query-logs');
    expect(p?.detail).toBe(
      `the Route 53 Resolver query logs show 10.0.5.7 last asked for ${ELB} at 2026-12-06T10:10:00.000Z, while 10.0.1.5 was still in its answer (seen until 2026-12-06T10:30:00.000Z), and not since: it has not re-resolved, it will not move by itself`,
    );
  });

  it.each([
    ['it asked since the change', { from, askers: [asker('2026-12-06T10:31:00Z')] }],
    ['it asked within the timestamp precision of the change', { from, askers: [asker('2026-12-06T10:29:59.500Z')] }],
    ['the log never saw it (its queries may all have been answered from the Resolver cache)', { from, askers: [] }],
    ['the read starts after the change', { from: change.at + 1, askers: [asker('2026-12-06T10:10:00Z')] }],
  ])('no proof when %s', (_why, read) => {
    expect(proofFor(read, client, change)).toBeUndefined();
  });

  it('knows a host by its instance too', () => {
    const read = { from, askers: [{ ...asker('2026-12-06T10:10:00Z'), srcaddr: '10.0.5.99', instance: 'i-0c' }] };
    expect(proofFor(read, { addresses: new Set(['10.0.5.7']), instance: 'i-0c' }, change)?.detail).toContain('i-0c last asked');
  });
});
