import { beforeEach, describe, expect, it } from 'vitest';
import { mockClient } from 'aws-sdk-client-mock';
import { allCustomMatcher } from 'aws-sdk-client-mock-vitest';
import type {} from 'aws-sdk-client-mock-vitest/extend';
import { CloudWatchClient, PutMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { CloudWatchSink, MAX_METRICS_PER_REQUEST, MetricsPublishError } from '../../src/adapters/aws/cloudwatch-sink.ts';
import { METRIC_NAMESPACE } from '../../src/contract.ts';
import { METRICS } from '../../src/core/report.ts';
import type { TargetReport } from '../../src/core/report.ts';
import { reportOf } from './report-fixtures.ts';

expect.extend(allCustomMatcher);

const STARTED = '2026-03-01T03:12:00.000Z';

function targetReport(target: string, metrics: TargetReport['metrics']): TargetReport {
  return { target, type: 'elb', probes: [], current: [], retired: [], findings: [], metrics, completed: true };
}

const report = (targets: TargetReport[]) => reportOf(targets, STARTED);

describe('CloudWatchSink', () => {
  const cw = mockClient(CloudWatchClient);
  beforeEach(() => {
    cw.reset();
    cw.on(PutMetricDataCommand).resolves({});
  });

  it('sends every metric of a small check in one request: namespace ipdrift, dimension Target only, units from METRICS', async () => {
    // Prepare
    const sink = new CloudWatchSink(new CloudWatchClient({ region: 'ap-northeast-2' }));
    const r = report([
      targetReport('app-alb', { Addresses: 2, AddressesRetired: 1, DnsLagSeconds: Number.NaN }),
      targetReport('web', { WebLatencyMs: 14, StaleConfirmed: 1 }),
    ]);
    // Act
    await sink.publishMetrics(r);
    // Assess
    const at = new Date(STARTED);
    const datum = (target: string, name: keyof typeof METRICS, value: number) => ({
      MetricName: name,
      Dimensions: [{ Name: 'Target', Value: target }],
      Timestamp: at,
      Unit: METRICS[name],
      Value: value,
    });
    expect(cw).toHaveReceivedCommandTimes(PutMetricDataCommand, 1);
    expect(cw.commandCalls(PutMetricDataCommand)[0]!.args[0].input).toEqual({
      Namespace: 'ipdrift',
      // NaN is left out: CloudWatch rejects it.
      MetricData: [
        datum('app-alb', 'Addresses', 2),
        datum('app-alb', 'AddressesRetired', 1),
        datum('web', 'WebLatencyMs', 14),
        datum('web', 'StaleConfirmed', 1),
      ],
    });
    expect(METRIC_NAMESPACE).toBe('ipdrift');
  });

  it('batches at 1,000 metrics per request: 300 targets x 10 metrics -> 3 requests', async () => {
    // Prepare
    const ten = Object.fromEntries(
      Object.keys(METRICS)
        .slice(0, 10)
        .map((name, i) => [name, i]),
    ) as TargetReport['metrics'];
    const r = report(Array.from({ length: 300 }, (_, i) => targetReport(`t${i}`, ten)));
    // Act
    await new CloudWatchSink(new CloudWatchClient({ region: 'ap-northeast-2' })).publishMetrics(r);
    // Assess
    const sizes = cw.commandCalls(PutMetricDataCommand).map((c) => c.args[0].input.MetricData!.length);
    expect(sizes).toEqual([MAX_METRICS_PER_REQUEST, MAX_METRICS_PER_REQUEST, MAX_METRICS_PER_REQUEST]);
    expect(
      new Set(cw.commandCalls(PutMetricDataCommand).flatMap((c) => c.args[0].input.MetricData!.map((d) => `${d.Dimensions![0]!.Value}/${d.MetricName}`))).size,
    ).toBe(3000);
  });

  it('sends nothing when no target has figures', async () => {
    // Act
    await new CloudWatchSink(new CloudWatchClient({ region: 'ap-northeast-2' })).publishMetrics(report([targetReport('x', {})]));
    // Assess
    expect(cw).not.toHaveReceivedCommand(PutMetricDataCommand);
  });

  it('throws one error naming how many requests failed, with the SDK error as cause', async () => {
    // Prepare: the second of two requests fails.
    const throttled = Object.assign(new Error('Rate exceeded'), { name: 'Throttling' });
    cw.on(PutMetricDataCommand).resolvesOnce({}).rejects(throttled);
    const ten = Object.fromEntries(Object.keys(METRICS).map((name) => [name, 1])) as TargetReport['metrics'];
    const r = report(Array.from({ length: 101 }, (_, i) => targetReport(`t${i}`, ten)));
    // Act
    const sent = new CloudWatchSink(new CloudWatchClient({ region: 'ap-northeast-2' })).publishMetrics(r);
    // Assess
    await expect(sent).rejects.toBeInstanceOf(MetricsPublishError);
    await expect(sent).rejects.toMatchObject({ failed: 1, requests: 2, cause: throttled });
  });
});
