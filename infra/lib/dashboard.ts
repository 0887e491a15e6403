/**
 * The monitor's CloudWatch dashboard: the function's runs and alarms, the fan-out and failover
 * watcher when present, then a row per target (or one SEARCH graph per metric past
 * `DASHBOARD_LIMITS.maxTargetRows`). Created in the stack's own scope, so construct ids are the stack's.
 */
import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { emittedMetrics } from '../../src/core/metric-sets.ts';
import { FAILOVER_WATCH_METRICS } from './failover-watch.ts';
import type { MonitorStack } from './monitor-stack.ts';
import { DASHBOARD_LIMITS } from './settings.ts';
import { graphsFor, searchMetric, targetMetric } from './target-metrics.ts';

/** Builds the dashboard of `stack` (its alarms, functions and targets must exist already). */
export function createDashboard(stack: MonitorStack): cloudwatch.Dashboard {
  const dashboard = new cloudwatch.Dashboard(stack, 'Dashboard', {
    dashboardName: stack.stackName,
    defaultInterval: Duration.hours(3),
  });
  const fnGraph = (title: string, metrics: Array<[string, string]>) =>
    new cloudwatch.GraphWidget({ title, width: 8, left: metrics.map(([m, stat]) => stack.fn.metric(m, { statistic: stat, period: Duration.minutes(1) })) });
  const alarms = [...stack.alarms.entries()];
  const shown =
    alarms.length <= DASHBOARD_LIMITS.maxAlarmsInWidget ? alarms : alarms.filter(([key]) => !stack.config.targets.some((t) => key.startsWith(`${t.name}/`)));
  dashboard.addWidgets(
    new cloudwatch.TextWidget({ markdown: `## ipdrift monitor${stack.fanOut ? ` (${stack.shardPlan.shards.length} shards)` : ''}`, width: 24, height: 1 }),
  );
  const label = stack.fanOut ? 'workers' : 'monitor';
  dashboard.addWidgets(
    fnGraph(`${label}: runs`, [
      ['Invocations', cloudwatch.Stats.SUM],
      ['Errors', cloudwatch.Stats.SUM],
      ['Throttles', cloudwatch.Stats.SUM],
    ]),
    fnGraph(`${label}: duration (ms)`, [
      ['Duration', cloudwatch.Stats.MAXIMUM],
      ['Duration', cloudwatch.Stats.AVERAGE],
    ]),
    new cloudwatch.AlarmStatusWidget({
      title: shown.length === alarms.length ? 'alarms' : "alarms of the monitor (the targets' are in the CloudWatch alarm list)",
      width: 8,
      alarms: shown.map(([, a]) => a),
    }),
  );
  // A row of two half-width graphs of one-minute points.
  const period = Duration.minutes(1);
  const pair = (a: [string, cloudwatch.IMetric[]], b: [string, cloudwatch.IMetric[]]) =>
    dashboard.addWidgets(...[a, b].map(([title, left]) => new cloudwatch.GraphWidget({ title, width: 12, left })));
  if (stack.fanOut) {
    const { stateMachine: sm, scheduler } = stack.fanOut;
    pair(
      ['fan-out: executions', [sm.metricStarted({ period }), sm.metricSucceeded({ period }), sm.metricFailed({ period }), sm.metricTimedOut({ period })]],
      ['fan-out: scheduler (ms)', [scheduler.metricDuration({ statistic: cloudwatch.Stats.MAXIMUM, period }), scheduler.metricErrors({ period })]],
    );
  }
  if (stack.failoverWatch) {
    const watcher = stack.failoverWatch.fn;
    pair(
      [
        'failover watcher: runs',
        [watcher.metric('Invocations', { statistic: cloudwatch.Stats.SUM, period }), watcher.metric('Errors', { statistic: cloudwatch.Stats.SUM, period })],
      ],
      ['failover watcher: duration (ms)', [watcher.metric('Duration', { statistic: cloudwatch.Stats.MAXIMUM, period })]],
    );
  }
  const set = stack.config.metrics;
  if (stack.config.targets.length <= DASHBOARD_LIMITS.maxTargetRows) {
    for (const target of stack.config.targets) {
      const graphs = graphsFor(target.type, set).map((g) => ({
        title: g.title,
        metrics: g.metrics.map((m) => targetMetric(target, m, cloudwatch.Stats.MAXIMUM, stack.checkInterval)),
      }));
      // The watcher publishes a point per failover (whatever the metric set): the client outage.
      if (target.type === 'aurora' && stack.failoverWatch) {
        graphs.push({
          title: 'failover: client outage (s)',
          metrics: [targetMetric(target, FAILOVER_WATCH_METRICS.failoverSeconds, cloudwatch.Stats.MAXIMUM, stack.checkInterval)],
        });
      }
      const width = Math.floor(20 / graphs.length);
      dashboard.addWidgets(
        new cloudwatch.TextWidget({ markdown: `### ${target.name}\n${target.type}`, width: 4, height: 6 }),
        ...graphs.map((g) => new cloudwatch.GraphWidget({ title: `${target.name}: ${g.title}`, width, left: g.metrics })),
      );
    }
    return dashboard;
  }
  // Too many targets for a row each: one graph per published metric, every target's series found by a SEARCH.
  const published: string[] = [...new Set(stack.config.targets.flatMap((t) => emittedMetrics(t.type, set)))];
  if (stack.failoverWatch) published.push(FAILOVER_WATCH_METRICS.failoverSeconds);
  dashboard.addWidgets(
    ...published.map(
      (m) =>
        new cloudwatch.GraphWidget({
          title: `${m} (every target)`,
          width: 8,
          left: [searchMetric(m, stack.checkInterval)],
        }),
    ),
  );
  return dashboard;
}
