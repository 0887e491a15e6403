/** The resolver log source on CloudWatch Logs Insights: the exact StartQuery, one asker per row, a cut result said. */
import { CloudWatchLogsClient, GetQueryResultsCommand, StartQueryCommand } from '@aws-sdk/client-cloudwatch-logs';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { INSIGHTS_QUERY } from '../../src/adapters/aws/insights-query.ts';
import { LogsInsightsResolverSource, resolverQueryString } from '../../src/adapters/aws/resolver-insights.ts';

const GROUP = '/route53/resolver/prod';
const FROM = Date.UTC(2026, 11, 6, 9, 0, 0);
const TO = FROM + 90 * 60_000;
const ELB = 'internal-app-123.ap-northeast-2.elb.amazonaws.com';
const noSleep = async () => undefined;
const row = (fields: Record<string, string>) => Object.entries(fields).map(([field, value]) => ({ field, value }));

describe('resolverQueryString', () => {
  it('the names in any case, with or without the trailing dot, or an answer naming an address; one row per host', () => {
    expect(resolverQueryString([ELB, `all.${ELB}`], ['10.0.1.5'])).toBe(
      'filter query_name like /(?i)^(internal-app-123\\.ap-northeast-2\\.elb\\.amazonaws\\.com|all\\.internal-app-123\\.ap-northeast-2\\.elb\\.amazonaws\\.com)\\.?$/' +
        ' or @message like /"Rdata"\\s*:\\s*"(10\\.0\\.1\\.5)"/' +
        ' | stats count(*) as queries, earliest(query_timestamp) as firstAsked, latest(query_timestamp) as lastAsked, latest(srcids.instance) as instance by srcaddr' +
        ' | sort lastAsked desc | limit 10000',
    );
  });

  it('escapes what a regular expression would read otherwise', () => {
    expect(resolverQueryString(['a/b|c.example'], [])).toBe(
      'filter query_name like /(?i)^(a\\/b\\|c\\.example)\\.?$/ | stats count(*) as queries, earliest(query_timestamp) as firstAsked, latest(query_timestamp) as lastAsked, latest(srcids.instance) as instance by srcaddr | sort lastAsked desc | limit 10000',
    );
  });
});

describe('LogsInsightsResolverSource', () => {
  const logs = mockClient(CloudWatchLogsClient);
  beforeEach(() => logs.reset());

  it('one query over the range on the group; rows become askers (an instance when the Resolver named one)', async () => {
    // Prepare
    logs.on(StartQueryCommand).resolves({ queryId: 'r-1' });
    logs
      .on(GetQueryResultsCommand)
      .resolvesOnce({ status: 'Running' })
      .resolves({
        status: 'Complete',
        results: [
          row({
            srcaddr: '10.0.5.7',
            instance: 'i-0d15cd0d3example',
            queries: '14',
            firstAsked: '2026-12-06T09:01:00Z',
            lastAsked: '2026-12-06T10:10:00Z',
          }),
          row({ srcaddr: '172.16.4.9', queries: '1', firstAsked: '2026-12-06T09:02:00Z', lastAsked: '2026-12-06T09:02:00Z' }),
        ],
        statistics: { bytesScanned: 2048 },
      });
    const source = new LogsInsightsResolverSource(GROUP, new CloudWatchLogsClient({ region: 'ap-northeast-2' }), noSleep);
    // Act
    const r = await source.read({ names: [ELB], addresses: ['10.0.1.5'], from: FROM, to: TO, signal: AbortSignal.timeout(5_000) });
    // Assess
    expect(logs.commandCalls(StartQueryCommand)[0]!.args[0].input).toEqual({
      logGroupIdentifiers: [GROUP],
      startTime: FROM / 1000,
      endTime: TO / 1000,
      queryString: resolverQueryString([ELB], ['10.0.1.5']),
      limit: INSIGHTS_QUERY.limit,
    });
    expect(r).toEqual({
      askers: [
        {
          srcaddr: '10.0.5.7',
          instance: 'i-0d15cd0d3example',
          queries: 14,
          firstAsked: Date.parse('2026-12-06T09:01:00Z'),
          lastAsked: Date.parse('2026-12-06T10:10:00Z'),
        },
        { srcaddr: '172.16.4.9', queries: 1, firstAsked: Date.parse('2026-12-06T09:02:00Z'), lastAsked: Date.parse('2026-12-06T09:02:00Z') },
      ],
      rows: 2,
      scannedBytes: 2048,
    });
  });

  it('a result at the row limit is said to be cut', async () => {
    logs.on(StartQueryCommand).resolves({ queryId: 'r-2' });
    const full = Array.from({ length: INSIGHTS_QUERY.limit }, () =>
      row({ srcaddr: '10.0.5.7', queries: '1', firstAsked: '2026-12-06T09:01:00Z', lastAsked: '2026-12-06T09:01:00Z' }),
    );
    logs.on(GetQueryResultsCommand).resolves({ status: 'Complete', results: full });
    const source = new LogsInsightsResolverSource(GROUP, new CloudWatchLogsClient({ region: 'ap-northeast-2' }), noSleep);
    const r = await source.read({ names: [ELB], addresses: [], from: FROM, to: TO, signal: AbortSignal.timeout(5_000) });
    expect(r).toMatchObject({ rows: INSIGHTS_QUERY.limit, truncated: true });
  });
});
