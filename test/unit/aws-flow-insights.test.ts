/** The flow source on CloudWatch Logs Insights: the exact StartQuery, polling, the deadline cut. */
import { CloudWatchLogsClient, GetQueryResultsCommand, StartQueryCommand } from '@aws-sdk/client-cloudwatch-logs';
import { mockClient } from 'aws-sdk-client-mock';
import { allCustomMatcher } from 'aws-sdk-client-mock-vitest';
import type {} from 'aws-sdk-client-mock-vitest/extend';
import { beforeEach, describe, expect, it } from 'vitest';
import { FLOW_QUERY, FlowQueryError, LogsInsightsFlowSource, flowQueryString } from '../../src/adapters/aws/flow-insights.ts';

expect.extend(allCustomMatcher);

const GROUP = '/vpc/flow-logs/prod';
const FROM = Date.UTC(2026, 11, 1, 10, 0, 0);
const TO = FROM + 30 * 60_000;
const LINE = '2 123456789012 eni-0a1b2c3d4e5f60718 10.0.5.7 10.0.1.5 40001 443 6 3 180 1796119200 1796119260 ACCEPT OK';
const noSleep = async () => undefined;

describe('LogsInsightsFlowSource', () => {
  const logs = mockClient(CloudWatchLogsClient);
  beforeEach(() => logs.reset());

  it('starts one query on the log group, over the window less one aggregation interval, filtered to the addresses; polls until Complete', async () => {
    // Prepare
    logs.on(StartQueryCommand).resolves({ queryId: 'q-1' });
    logs
      .on(GetQueryResultsCommand)
      .resolvesOnce({ status: 'Scheduled' })
      .resolvesOnce({ status: 'Running', results: [] })
      .resolves({
        status: 'Complete',
        results: [
          [
            { field: '@message', value: LINE },
            { field: '@ptr', value: 'x' },
          ],
        ],
        statistics: { recordsMatched: 1, recordsScanned: 4000, bytesScanned: 512_000 },
      });
    const source = new LogsInsightsFlowSource(GROUP, new CloudWatchLogsClient({ region: 'ap-northeast-2' }), noSleep);
    // Act
    const r = await source.read({ addresses: ['10.0.1.5', '2001:db8::5'], from: FROM, to: TO, signal: AbortSignal.timeout(5_000) });
    // Assess
    expect(r).toEqual({ lines: [LINE], scannedBytes: 512_000 });
    expect(logs.commandCalls(StartQueryCommand)[0]!.args[0].input).toEqual({
      logGroupName: GROUP,
      startTime: FROM / 1000 - FLOW_QUERY.aggregationSlackSeconds,
      endTime: TO / 1000,
      queryString: 'fields @message | filter @message like "10.0.1.5" or @message like "2001:db8::5" | limit 10000',
      limit: 10_000,
    });
    expect(logs).toHaveReceivedCommandTimes(GetQueryResultsCommand, 3);
    expect(logs).toHaveReceivedCommandWith(GetQueryResultsCommand, { queryId: 'q-1' });
  });

  it('stops polling at the deadline: the read fails, it does not hang', async () => {
    // Prepare
    logs.on(StartQueryCommand).resolves({ queryId: 'q-2' });
    logs.on(GetQueryResultsCommand).resolves({ status: 'Running' });
    const source = new LogsInsightsFlowSource(GROUP, new CloudWatchLogsClient({ region: 'ap-northeast-2' }));
    const started = Date.now();
    // Act
    const run = source.read({ addresses: ['10.0.1.5'], from: FROM, to: TO, signal: AbortSignal.timeout(1_200) });
    // Assess
    await expect(run).rejects.toThrow();
    expect(Date.now() - started).toBeLessThan(3_000);
  });

  it.each(['Failed', 'Cancelled', 'Timeout'])('a query that ended %s is an error naming it', async (status) => {
    logs.on(StartQueryCommand).resolves({ queryId: 'q-3' });
    logs.on(GetQueryResultsCommand).resolves({ status: status as 'Failed' });
    const source = new LogsInsightsFlowSource(GROUP, new CloudWatchLogsClient({ region: 'ap-northeast-2' }), noSleep);
    const run = source.read({ addresses: ['10.0.1.5'], from: FROM, to: TO, signal: AbortSignal.timeout(5_000) });
    await expect(run).rejects.toBeInstanceOf(FlowQueryError);
    await expect(run).rejects.toThrow(`Logs Insights query q-3 on ${GROUP} ended ${status}`);
  });

  it('quotes nothing a user could break out of', () => {
    expect(flowQueryString(['10.0.1.5" | display x'])).toBe('fields @message | filter @message like "10.0.1.5 | display x" | limit 10000');
  });
});
