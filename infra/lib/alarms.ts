/**
 * The stack's alarms. Target alarms carry no action (ipdrift's own notice is the page); the
 * monitor's own alarms page the on-call topic, since then the monitor itself is broken. Built in
 * the stack's scope (or its nested alarm stacks), so construct ids are the stack's.
 */
import { Duration, NestedStack } from 'aws-cdk-lib';
import type { Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { Construct } from 'constructs';
import { FAILOVER_WATCH_SETTINGS } from './failover-watch.ts';
import type { MonitorStack } from './monitor-stack.ts';
import { ALARM_LAYOUT, FUNCTION_SETTINGS, SCHEDULE_LIMITS } from './settings.ts';
import { alarmSpecsFor, targetMetric } from './target-metrics.ts';

/** Every alarm of `stack`, by a stable key (`<target>/<metric>` or `function/<metric>`). */
export function createAlarms(stack: MonitorStack, timeout: Duration, interval: Duration): Map<string, cloudwatch.Alarm> {
  const alarms = new Map<string, cloudwatch.Alarm>();
  const action = new cwActions.SnsAction(stack.topic);
  const add = (key: string, id: string, props: cloudwatch.AlarmProps, scope: Construct = stack, page = true): void => {
    const alarm = new cloudwatch.Alarm(scope, id, props);
    if (page) {
      alarm.addAlarmAction(action);
      alarm.addOkAction(action); // on-call learns it is over, not only that it began
    }
    alarms.set(key, alarm);
  };

  // Target alarms: state for the dashboard and the console, never an action. ipdrift itself
  // sends one notice per alert transition; an alarm action would page a second time for the
  // same condition. In the stack itself, or in nested stacks when there are too many for one template.
  const specs = stack.config.targets.flatMap((target, i) => alarmSpecsFor(target.type).map((spec) => ({ target, i, spec })));
  const scopeOf = alarmScopes(stack, specs.length);
  specs.forEach(({ target, i, spec }, n) => {
    add(
      `${target.name}/${spec.metric}`,
      `Target${i}${spec.metric}Alarm`,
      {
        alarmName: `${stack.alarmNamePrefix}${target.name}-${spec.metric}`,
        alarmDescription: `ipdrift ${target.type} "${target.name}": ${spec.meaning}. No action: ipdrift's own notice to the on-call topic carries the evidence and the advice.`,
        metric: targetMetric(target, spec.metric, cloudwatch.Stats.MAXIMUM, interval),
        threshold: spec.threshold(target),
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: spec.evaluationPeriods,
        datapointsToAlarm: spec.datapointsToAlarm,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      },
      scopeOf(n),
      false,
    );
  });

  // The monitor's own alarms, one line each: they page (the monitor itself is broken).
  for (const a of monitorAlarmSpecs(stack, timeout, interval)) {
    add(a.key, a.id, {
      alarmName: `${stack.alarmNamePrefix}${a.name}`,
      alarmDescription: a.description,
      metric: a.metric,
      threshold: a.threshold,
      comparisonOperator: a.below ? cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD : cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: a.missingBreaches ? cloudwatch.TreatMissingData.BREACHING : cloudwatch.TreatMissingData.NOT_BREACHING,
    });
  }
  return alarms;
}

/**
 * The alarms on the monitor itself: key (for {@link MonitorStack.alarms}), construct id, name
 * after the prefix, what on-call reads, the metric and its threshold. Errors, throttles and
 * duration have data only when a function runs, so missing data is no breach for them; "it
 * did not run" is the dead man's switch, where no data at all is exactly the case to catch.
 */
function monitorAlarmSpecs(stack: MonitorStack, timeout: Duration, interval: Duration): MonitorAlarmSpec[] {
  const minutes = interval.toMinutes();
  const fnAlarmPeriod = Duration.minutes(Math.max(SCHEDULE_LIMITS.functionAlarmMinMinutes, minutes));
  const notRunningPeriod = Duration.minutes(Math.max(SCHEDULE_LIMITS.functionAlarmMinMinutes, SCHEDULE_LIMITS.notRunningIntervals * minutes));
  const fnMetric = (metric: string, statistic: string, period = fnAlarmPeriod) => stack.fn.metric(metric, { statistic, period });
  const fnLabel = stack.fanOut ? 'worker' : 'monitor';
  const throttled = stack.fanOut
    ? 'ipdrift worker was throttled: the account hit its concurrency limit (or, with reserveConcurrency, more shards at once than one each); throttled shards skip a tick.'
    : 'ipdrift monitor was throttled: the account hit its concurrency limit (or, with reserveConcurrency, a check overlapped the previous one); checks are being skipped.';
  const specs: MonitorAlarmSpec[] = [
    {
      key: 'function/Errors',
      id: 'FunctionErrorsAlarm',
      name: `${fnLabel}-Errors`,
      description: `ipdrift ${fnLabel} failed a check: the monitor itself is broken (a target being down is a finding, not an error). Read the function log.`,
      metric: fnMetric('Errors', cloudwatch.Stats.SUM),
      threshold: 1,
    },
    {
      key: 'function/Throttles',
      id: 'FunctionThrottlesAlarm',
      name: `${fnLabel}-Throttles`,
      description: throttled,
      metric: fnMetric('Throttles', cloudwatch.Stats.SUM),
      threshold: 1,
    },
    {
      key: 'function/Duration',
      id: 'FunctionDurationAlarm',
      name: `${fnLabel}-Duration`,
      description: `ipdrift ${fnLabel} took >= ${FUNCTION_SETTINGS.durationAlarmFraction * 100}% of its ${timeout.toSeconds()} s timeout: checks are about to be cut short (slow probes, too many targets${stack.fanOut ? ' in a shard: lower shardSize' : ''}, or a slow resolver).`,
      metric: fnMetric('Duration', cloudwatch.Stats.MAXIMUM),
      threshold: Math.round(timeout.toMilliseconds() * FUNCTION_SETTINGS.durationAlarmFraction),
    },
    {
      key: 'function/Invocations',
      id: 'FunctionNotRunningAlarm',
      name: `${stack.fanOut ? 'fanout' : 'monitor'}-NotRunning`,
      description: `ipdrift monitor did not run for ${notRunningPeriod.toMinutes()} minutes (schedule disabled or deleted, ${stack.fanOut ? 'state machine' : 'function'} deleted, or account-level throttling): nothing is being watched.`,
      metric: stack.fanOut
        ? stack.fanOut.stateMachine.metricStarted({ statistic: cloudwatch.Stats.SUM, period: notRunningPeriod })
        : fnMetric('Invocations', cloudwatch.Stats.SUM, notRunningPeriod),
      threshold: 1,
      below: true,
      missingBreaches: true,
    },
  ];
  if (stack.failoverWatch) {
    const watch = stack.failoverWatch;
    // Missing data is normal: the watcher runs only when a cluster fails over.
    const period = Duration.minutes(FAILOVER_WATCH_SETTINGS.alarmPeriodMinutes);
    specs.push(
      {
        key: 'failover-watch/Errors',
        id: 'FailoverWatchErrorsAlarm',
        name: 'failover-watch-Errors',
        description:
          'ipdrift failover watcher failed: a failover timeline was not (fully) delivered (notice, metrics or history), or the watcher could not run. Read the watcher log: it holds the timeline.',
        metric: watch.fn.metric('Errors', { statistic: cloudwatch.Stats.SUM, period }),
        threshold: 1,
      },
      {
        key: 'failover-watch/Duration',
        id: 'FailoverWatchDurationAlarm',
        name: 'failover-watch-Duration',
        description: `ipdrift failover watcher took >= ${FAILOVER_WATCH_SETTINGS.durationAlarmFraction * 100}% of its ${watch.timeout.toSeconds()} s timeout: the next timeline may be cut short (slow RDS or DNS answers, or publishing retries).`,
        metric: watch.fn.metric('Duration', { statistic: cloudwatch.Stats.MAXIMUM, period }),
        threshold: Math.round(watch.timeout.toMilliseconds() * FAILOVER_WATCH_SETTINGS.durationAlarmFraction),
      },
    );
  }
  if (stack.fanOut) {
    // A failed execution: the scheduler could not split (config, DynamoDB, payload size).
    specs.push({
      key: 'fanout/ExecutionsFailed',
      id: 'FanOutFailedAlarm',
      name: 'fanout-ExecutionsFailed',
      description:
        'ipdrift fan-out execution failed: the scheduler could not claim or split the tick (configuration, DynamoDB, or a shard list too large); no shard was checked. Read the scheduler log.',
      metric: stack.fanOut.stateMachine.metricFailed({ statistic: cloudwatch.Stats.SUM, period: fnAlarmPeriod }),
      threshold: 1,
    });
  }
  return specs;
}

/** One alarm on the monitor itself (see monitorAlarmSpecs). */
interface MonitorAlarmSpec {
  key: string;
  id: string;
  name: string;
  description: string;
  metric: cloudwatch.IMetric;
  threshold: number;
  /** Alarm below the threshold (default: at or above). */
  below?: boolean;
  /** Missing data is a breach (default: not). */
  missingBreaches?: boolean;
}

/**
 * Where the n-th of `count` target alarms goes: the stack itself when they fit beside its own
 * resources, nested stacks of ALARM_LAYOUT.perNestedStack otherwise.
 */
function alarmScopes(stack: Stack, count: number): (n: number) => Construct {
  if (count <= ALARM_LAYOUT.maxInRoot) return () => stack;
  const nested: NestedStack[] = [];
  return (n) => {
    const k = Math.floor(n / ALARM_LAYOUT.perNestedStack);
    nested[k] ??= new NestedStack(stack, `TargetAlarms${k}`, {
      description: `ipdrift target alarms ${k * ALARM_LAYOUT.perNestedStack + 1}-${Math.min(count, (k + 1) * ALARM_LAYOUT.perNestedStack)} of ${count}`,
    });
    return nested[k];
  };
}
