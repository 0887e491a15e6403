/** The flow source on CloudWatch Logs Insights: the exact StartQuery, rows as records, polling, the deadline cut, a cut result said. */
import { CloudWatchLogsClient, GetQueryResultsCommand, StartQueryCommand, StopQueryCommand } from '@aws-sdk/client-cloudwatch-logs';
import { mockClient } from 'aws-sdk-client-mock';
import { allCustomMatcher } from 'aws-sdk-client-mock-vitest';
import type {} from 'aws-sdk-client-mock-vitest/extend';
import { beforeEach, describe, expect, it } from 'vitest';
import { FLOW_QUERY, LogsInsightsFlowSource, flowQueryString } from '../../src/adapters/aws/flow-insights.ts';
import { InsightsQueryError } from '../../src/adapters/aws/insights-query.ts';
import { DEFAULT_FLOW_FORMAT, parseFlowFormat } from '../../src/core/flow-log.ts';
import { LAB_V5_FORMAT } from '../../lab/flow-log.ts';

expect.extend(allCustomMatcher);

const GROUP = '/vpc/flow-logs/prod';
const FROM = Date.UTC(2026, 11, 1, 10, 0, 0);
const TO = FROM + 30 * 60_000;
const V2 = parseFlowFormat(DEFAULT_FLOW_FORMAT);
const QUERY = { addresses: ['10.0.1.5', '2001:db8::5'], ports: [443], fields: V2, from: FROM, to: TO };
/** One result row, as GetQueryResults returns a stats row (every value a string). */
const ROW = [
  ['f_interface_id', 'eni-0a1b2c3d4e5f60718'],
  ['f_srcaddr', '10.0.5.7'],
  ['f_dstaddr', '10.0.1.5'],
  ['f_dstport', '443'],
  ['f_action', 'ACCEPT'],
  ['f_tcp_flags', '2'],
  ['records', '4'],
  ['packets', '12'],
  ['first', '1796119200'],
  ['last', '1796119380'],
].map(([field, value]) => ({ field, value }));
const noSleep = async () => undefined;

describe('flowQueryString', () => {
  it('parses the default format in its own order, filters on exact addresses and ports, one row per client and end', () => {
    expect(flowQueryString(V2, ['10.0.1.5', '2001:db8::5'], [443, 8080])).toBe(
      'parse @message "* * * * * * * * * * * * * *" as f_version, f_account_id, f_interface_id, f_srcaddr, f_dstaddr, f_srcport, f_dstport, f_protocol, f_packets, f_bytes, f_start, f_end, f_action, f_log_status' +
        ' | filter (f_dstaddr in ["10.0.1.5", "2001:db8::5"]) and f_dstport in ["443", "8080"]' +
        ' | stats count(*) as records, sum(f_packets) as packets, min(f_start) as first, max(f_start) as last by f_interface_id, f_srcaddr, f_dstaddr, f_dstport, f_action' +
        ' | sort last desc | limit 10000',
    );
  });

  it('v5: the packet destination counts too, and the rows keep the instance, the packet source and the direction', () => {
    const query = flowQueryString(parseFlowFormat(LAB_V5_FORMAT), ['10.0.1.5'], [443]);
    expect(query).toContain('filter (f_dstaddr in ["10.0.1.5"] or f_pkt_dstaddr in ["10.0.1.5"]) and f_dstport in ["443"]');
    expect(query).toContain(
      'by f_interface_id, f_instance_id, f_srcaddr, f_pkt_srcaddr, f_dstaddr, f_pkt_dstaddr, f_dstport, f_flow_direction, f_action, f_tcp_flags',
    );
  });

  it('quotes nothing a user could break out of', () => {
    expect(flowQueryString(V2, ['10.0.1.5" | display x'], [443])).toContain('f_dstaddr in ["10.0.1.5 | display x"]');
  });
});

describe('LogsInsightsFlowSource', () => {
  const logs = mockClient(CloudWatchLogsClient);
  beforeEach(() => logs.reset());

  it('starts one query on the log group, over the window less one aggregation interval; polls until Complete; rows become records', async () => {
    // Prepare
    logs.on(StartQueryCommand).resolves({ queryId: 'q-1' });
    logs
      .on(GetQueryResultsCommand)
      .resolvesOnce({ status: 'Scheduled' })
      .resolvesOnce({ status: 'Running', results: [] })
      .resolves({ status: 'Complete', results: [ROW], statistics: { recordsMatched: 4, recordsScanned: 4000, bytesScanned: 512_000 } });
    const source = new LogsInsightsFlowSource(GROUP, new CloudWatchLogsClient({ region: 'ap-northeast-2' }), noSleep);
    // Act
    const r = await source.read({ ...QUERY, signal: AbortSignal.timeout(5_000) });
    // Assess
    expect(r).toEqual({
      records: [
        {
          interfaceId: 'eni-0a1b2c3d4e5f60718',
          srcaddr: '10.0.5.7',
          dstaddr: '10.0.1.5',
          action: 'ACCEPT',
          dstport: 443,
          tcpFlags: 2,
          packets: 12,
          records: 4,
          start: 1796119200,
          lastStart: 1796119380,
        },
      ],
      rows: 1,
      scannedBytes: 512_000,
    });
    expect(logs.commandCalls(StartQueryCommand)[0]!.args[0].input).toEqual({
      logGroupIdentifiers: [GROUP],
      startTime: FROM / 1000 - FLOW_QUERY.aggregationSlackSeconds,
      endTime: TO / 1000,
      queryString: flowQueryString(V2, QUERY.addresses, QUERY.ports),
      limit: 10_000,
    });
    expect(logs).toHaveReceivedCommandTimes(GetQueryResultsCommand, 3);
    expect(logs).toHaveReceivedCommandWith(GetQueryResultsCommand, { queryId: 'q-1' });
  });

  it('a result at the row limit is said to be cut', async () => {
    // Prepare
    logs.on(StartQueryCommand).resolves({ queryId: 'q-4' });
    logs.on(GetQueryResultsCommand).resolves({ status: 'Complete', results: Array.from({ length: FLOW_QUERY.limit }, () => ROW) });
    const source = new LogsInsightsFlowSource(GROUP, new CloudWatchLogsClient({ region: 'ap-northeast-2' }), noSleep);
    // Act
    const r = await source.read({ ...QUERY, signal: AbortSignal.timeout(5_000) });
    // Assess
    expect(r).toMatchObject({ rows: FLOW_QUERY.limit, truncated: true });
  });

  it('stops polling at the deadline: the read fails, it does not hang', async () => {
    // Prepare
    logs.on(StartQueryCommand).resolves({ queryId: 'q-2' });
    logs.on(GetQueryResultsCommand).resolves({ status: 'Running' });
    const source = new LogsInsightsFlowSource(GROUP, new CloudWatchLogsClient({ region: 'ap-northeast-2' }));
    const started = Date.now();
    // Act
    const run = source.read({ ...QUERY, signal: AbortSignal.timeout(1_200) });
    // Assess
    await expect(run).rejects.toThrow();
    expect(Date.now() - started).toBeLessThan(3_000);
    // Stopped, so it holds no concurrent-query slot and scans no more.
    expect(logs).toHaveReceivedCommandWith(StopQueryCommand, { queryId: 'q-2' });
  });

  it.each(['Failed', 'Cancelled', 'Timeout'])('a query that ended %s is an error naming it', async (status) => {
    logs.on(StartQueryCommand).resolves({ queryId: 'q-3' });
    logs.on(GetQueryResultsCommand).resolves({ status: status as 'Failed' });
    const source = new LogsInsightsFlowSource(GROUP, new CloudWatchLogsClient({ region: 'ap-northeast-2' }), noSleep);
    const run = source.read({ ...QUERY, signal: AbortSignal.timeout(5_000) });
    await expect(run).rejects.toBeInstanceOf(InsightsQueryError);
    await expect(run).rejects.toThrow(`Logs Insights query q-3 on ${GROUP} ended ${status}`);
  });
});
