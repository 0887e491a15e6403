/**
 * MonitorStack past one invocation (lib/fan-out.ts): the scheduler, the workers and the
 * Standard workflow between them, their IAM, alarms and dashboard; the stack at 1,000 targets
 * (nested alarm stacks, a SEARCH dashboard); the single-function shape up to the shard size;
 * the `minimal` metric set; and the stack's shape as `ipdrift cost` counts it.
 */
import { App, NestedStack, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { COST_ASSUMPTIONS, STACK_SHAPE } from '../../src/planning/cost/estimate.ts';
import type { ConfigInput } from '../../src/core/config.ts';
import { alarmedMetrics } from '../../src/core/metric-sets.ts';
import { SCHEDULER_DEFAULTS } from '../../src/lambda/scheduler.ts';
import { FANOUT_SETTINGS } from '../lib/fan-out.ts';
import { ALARM_LAYOUT, MONITOR_DEFAULTS, MonitorStack, NAG_FINDINGS, TABLE_ACTIONS } from '../lib/monitor-stack.ts';
import {
  EXAMPLE_CONFIG,
  actionsOf,
  arnOf,
  dashboardBody,
  ref,
  identityStatements,
  nagViolations,
  onlyResource,
  statementsOfRole,
  stubCodePath,
  synth,
  withoutFailoverWatch,
} from './helpers.ts';
import type { Statement, Synth } from './helpers.ts';

const FANOUT_SHARD_SIZE = 2;

/** `n` ELB targets as a deployer would write them. */
function elbConfig(n: number, metrics?: 'standard' | 'minimal'): ConfigInput {
  return {
    ...(metrics ? { metrics } : {}),
    targets: Array.from({ length: n }, (_, i) => ({
      name: `alb-${String(i).padStart(4, '0')}`,
      type: 'elb' as const,
      host: `internal-alb-${i}.eu-west-1.elb.amazonaws.com`,
      port: 443,
      probe: { protocol: 'https' as const, path: '/health' },
    })),
  };
}

/** The state machine's definition as an object (the template joins JSON text and function ARNs). */
function definition(template: Template): { States: Record<string, any>; TimeoutSeconds: number } {
  const { resource } = onlyResource(template, 'AWS::StepFunctions::StateMachine');
  const body = resource.Properties.DefinitionString as { 'Fn::Join': [string, unknown[]] };
  const text = body['Fn::Join'][1].map((p) => (typeof p === 'string' ? p : `ARN(${(p as { 'Fn::GetAtt': string[] })['Fn::GetAtt'][0]})`)).join('');
  return JSON.parse(text) as { States: Record<string, any>; TimeoutSeconds: number };
}

/** Acknowledged cdk-nag findings: construct path and finding id. */
function acknowledged(stack: MonitorStack): string[] {
  const out: string[] = [];
  for (const c of stack.node.findAll()) {
    for (const m of c.node.metadata) {
      if (m.type !== Validations.ACKNOWLEDGED_RULES_METADATA_KEY) continue;
      for (const [id, reason] of Object.entries(m.data as Record<string, string>)) {
        const bare = id.replace(/^annotation::/i, '');
        if (bare.startsWith('AwsSolutions-')) {
          expect(reason.length, `${c.node.path} ${bare}`).toBeGreaterThan(60);
          out.push(`${c.node.path} ${bare}`);
        }
      }
    }
  }
  return out.sort();
}

/** Alarms on the monitor itself (not on a target). */
const monitorAlarms = (s: Synth) => [...s.stack.alarms.keys()].filter((k) => k.startsWith('function/') || k.startsWith('fanout/'));

describe('fan-out: the example config (3 targets) with shard size 2', () => {
  let s: Synth;
  let ids: {
    worker: string;
    scheduler: string;
    schedulerRole: string;
    workerRole: string;
    sm: string;
    smRole: string;
    table: string;
    topic: string;
    events: string;
    key: string;
    logGroup: string;
    schedulerLogs: string;
  };

  beforeAll(() => {
    // The failover watcher (the example has an aurora target) is failover-watch.test.ts's.
    const full = synth({ shardSize: FANOUT_SHARD_SIZE });
    s = { ...full, template: withoutFailoverWatch(full.template) };
    const id = (c: { node: { defaultChild?: unknown } }) => s.stack.getLogicalId(c.node.defaultChild as never);
    const f = s.stack.fanOut!;
    ids = {
      worker: id(f.worker),
      scheduler: id(f.scheduler),
      schedulerRole: id(f.schedulerRole),
      workerRole: id(s.stack.role),
      sm: id(f.stateMachine),
      smRole: id(f.stateMachine.role as never),
      table: id(s.stack.table),
      topic: id(s.stack.topic),
      events: id(s.stack.eventsTopic),
      key: id(s.stack.topicKey),
      logGroup: id(s.stack.logGroup),
      schedulerLogs: id(f.schedulerLogGroup),
    };
  });

  it('splits into 2 shards (the web tier with its ELB) and replaces the monitor function by a scheduler and a worker', () => {
    // Assess
    expect(s.stack.shardPlan.shards.map((sh) => [...sh.targets].sort())).toEqual(expect.arrayContaining([['app-alb', 'web'], ['orders-db']]));
    expect(s.stack.fn).toBe(s.stack.fanOut!.worker);
    s.template.resourceCountIs('AWS::Lambda::Function', 2);
    expect(s.template.findResources('AWS::Lambda::Function', { Properties: { Handler: 'monitor.handler' } })).toEqual({});
    // Workers are invoked synchronously by Step Functions: no asynchronous-invoke settings.
    s.template.resourceCountIs('AWS::Lambda::EventInvokeConfig', 0);
  });

  it('runs the worker as the monitor ran: nodejs22.x arm64, 256 MB, 55 s, the same role, log group and environment; no reserved concurrency by default', () => {
    s.template.hasResourceProperties('AWS::Lambda::Function', {
      Handler: 'worker.handler',
      Runtime: 'nodejs22.x',
      Architectures: ['arm64'],
      MemorySize: 256,
      Timeout: 55,
      ReservedConcurrentExecutions: Match.absent(),
      Role: arnOf(ids.workerRole),
      LoggingConfig: { LogGroup: ref(ids.logGroup) },
      Environment: {
        Variables: {
          IPDRIFT_CONFIG_FILE: '/var/task/ipdrift.config.json',
          IPDRIFT_TABLE: ref(ids.table),
          IPDRIFT_TOPIC_ARN: ref(ids.topic),
          IPDRIFT_EVENTS_TOPIC_ARN: ref(ids.events),
          NODE_OPTIONS: '--enable-source-maps',
        },
      },
    });
  });

  it('runs the scheduler small and outside the VPC, told the shard size and the interval', () => {
    const { resource } = { resource: s.template.findResources('AWS::Lambda::Function', { Properties: { Handler: 'scheduler.handler' } }) };
    const [scheduler] = Object.values(resource) as Array<{ Properties: Record<string, any> }>;
    expect(scheduler!.Properties).toMatchObject({
      MemorySize: STACK_SHAPE.schedulerMemoryMb,
      Timeout: FANOUT_SETTINGS.schedulerTimeoutSeconds,
      Role: arnOf(ids.schedulerRole),
      LoggingConfig: { LogGroup: ref(ids.schedulerLogs) },
    });
    expect(scheduler!.Properties.ReservedConcurrentExecutions).toBeUndefined();
    expect(scheduler!.Properties.VpcConfig).toBeUndefined();
    expect(scheduler!.Properties.Environment.Variables).toEqual({
      IPDRIFT_CONFIG_FILE: '/var/task/ipdrift.config.json',
      IPDRIFT_TABLE: ref(ids.table),
      IPDRIFT_SHARD_SIZE: String(FANOUT_SHARD_SIZE),
      IPDRIFT_CHECK_INTERVAL_SECONDS: '60',
      NODE_OPTIONS: '--enable-source-maps',
    });
  });

  it('agrees with the scheduler on its tick guard (names come from src/contract.ts, defined once)', () => {
    expect(FANOUT_SETTINGS.tickGuardSeconds * 1000).toBe(SCHEDULER_DEFAULTS.tickGuardMs);
  });

  it('is a Standard workflow: schedule, then a Map of one worker per shard; only throttles retried; a failed shard caught; over before the next tick', () => {
    // Act
    s.template.hasResourceProperties('AWS::StepFunctions::StateMachine', { StateMachineType: 'STANDARD', RoleArn: arnOf(ids.smRole) });
    const d = definition(s.template);
    // Assess
    expect(d.TimeoutSeconds).toBe(55);
    const throttles = [{ ErrorEquals: ['Lambda.TooManyRequestsException'], IntervalSeconds: 1, MaxAttempts: 2, BackoffRate: 2 }];
    expect(d.States.Schedule).toEqual({
      Type: 'Task',
      Resource: `ARN(${ids.scheduler})`,
      // `detail`: the ELB interface call that started the execution ({} for a tick).
      Parameters: { 'id.$': '$.id', 'time.$': '$.time', 'execution.$': '$$.Execution.Id', 'detail.$': '$.detail' },
      Retry: throttles,
      Next: 'Shards',
    });
    expect(d.States.Shards).toMatchObject({
      Type: 'Map',
      ItemsPath: '$.shards',
      MaxConcurrency: FANOUT_SETTINGS.maxShards,
      ResultPath: null,
      End: true,
      ItemProcessor: { ProcessorConfig: { Mode: 'INLINE' }, StartAt: 'CheckShard' },
    });
    expect(d.States.Shards.ItemProcessor.States).toEqual({
      CheckShard: {
        Type: 'Task',
        Resource: `ARN(${ids.worker})`,
        ResultPath: null,
        Retry: throttles,
        Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'ShardFailed' }],
        End: true,
      },
      ShardFailed: { Type: 'Pass', End: true },
    });
  });

  it("starts one execution per tick with the event's id and time, retried briefly", () => {
    s.template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(1 minute)',
      Targets: [
        {
          Id: 'Target0',
          Arn: ref(ids.sm),
          RoleArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^FanOutStateMachineEventsRole'), 'Arn'] },
          InputTransformer: { InputPathsMap: { id: '$.id', time: '$.time' }, InputTemplate: '{"id":<id>,"time":<time>,"detail":{}}' },
          RetryPolicy: { MaximumEventAgeInSeconds: 60, MaximumRetryAttempts: 2 },
        },
      ],
    });
  });

  describe('IAM, exactly', () => {
    it('scheduler: PutItem on the table under the claim partition only, and its own log group', () => {
      expect(statementsOfRole(s.template, ids.schedulerRole)).toEqual([
        {
          Sid: 'TickClaims',
          Effect: 'Allow',
          Action: 'dynamodb:PutItem',
          Resource: arnOf(ids.table),
          Condition: { 'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': ['fanout#tick'] } },
        },
        { Sid: 'Logs', Effect: 'Allow', Action: ['logs:CreateLogStream', 'logs:PutLogEvents'], Resource: arnOf(ids.schedulerLogs) },
      ]);
    });

    it('worker: what the monitor had (table, topic, key, metrics, logs, the Aurora cluster)', () => {
      const actions = statementsOfRole(s.template, ids.workerRole).map((st) => `${st.Sid}: ${actionsOf(st).join(',')}`);
      expect(actions).toEqual([
        `StateTable: ${TABLE_ACTIONS.join(',')}`,
        'AlertTopic: sns:Publish',
        'AlertTopicKey: kms:Decrypt,kms:GenerateDataKey*',
        'Metrics: cloudwatch:PutMetricData',
        'Logs: logs:CreateLogStream,logs:PutLogEvents',
        'AuroraWriterLookup: rds:DescribeDBClusters',
      ]);
    });

    it('state machine: invoke the scheduler and the worker, nothing else', () => {
      const fnArn = (id: string) => [arnOf(id), { 'Fn::Join': ['', [arnOf(id), ':*']] }];
      expect(statementsOfRole(s.template, ids.smRole)).toEqual([
        { Effect: 'Allow', Action: 'lambda:InvokeFunction', Resource: fnArn(ids.scheduler) },
        { Effect: 'Allow', Action: 'lambda:InvokeFunction', Resource: fnArn(ids.worker) },
      ]);
    });

    it('schedule: start executions of this state machine, nothing else', () => {
      const events = Object.values(s.template.findResources('AWS::IAM::Policy')).filter((p) => JSON.stringify(p).includes('states:StartExecution')) as Array<{
        Properties: { PolicyDocument: { Statement: Statement[] } };
      }>;
      expect(events.flatMap((p) => p.Properties.PolicyDocument.Statement)).toEqual([
        { Effect: 'Allow', Action: 'states:StartExecution', Resource: ref(ids.sm) },
      ]);
    });

    it('each role is assumable by its one service only', () => {
      const principals = Object.values(s.template.findResources('AWS::IAM::Role')).map((r) =>
        (
          r as { Properties: { AssumeRolePolicyDocument: { Statement: Array<{ Principal: { Service: string } }> } } }
        ).Properties.AssumeRolePolicyDocument.Statement.map((st) => st.Principal.Service).join(','),
      );
      expect(principals.sort()).toEqual(['events.amazonaws.com', 'lambda.amazonaws.com', 'lambda.amazonaws.com', 'states.amazonaws.com']);
    });

    it('has no `*` resource but PutMetricData under its namespace condition', () => {
      const wildcard = identityStatements(s.template).filter((st) => st.Resource === '*' || (Array.isArray(st.Resource) && st.Resource.includes('*')));
      expect(wildcard.map((st) => st.Sid)).toEqual(['Metrics']);
    });
  });

  it('alarms on the workers (Errors, Throttles, Duration), on executions not starting and on failed ones: STACK_SHAPE.fanOutAlarms', () => {
    // Assess
    expect(monitorAlarms(s)).toHaveLength(STACK_SHAPE.fanOutAlarms);
    for (const [name, metric] of [
      ['worker-Errors', 'Errors'],
      ['worker-Throttles', 'Throttles'],
      ['worker-Duration', 'Duration'],
    ] as const) {
      s.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        AlarmName: `Ipdrift.${name}`,
        Namespace: 'AWS/Lambda',
        MetricName: metric,
        Dimensions: [{ Name: 'FunctionName', Value: ref(ids.worker) }],
      });
    }
    s.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'Ipdrift.fanout-NotRunning',
      Namespace: 'AWS/States',
      MetricName: 'ExecutionsStarted',
      Dimensions: [{ Name: 'StateMachineArn', Value: ref(ids.sm) }],
      ComparisonOperator: 'LessThanThreshold',
      Threshold: 1,
      Period: 300,
      TreatMissingData: 'breaching',
    });
    s.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'Ipdrift.fanout-ExecutionsFailed',
      Namespace: 'AWS/States',
      MetricName: 'ExecutionsFailed',
      Dimensions: [{ Name: 'StateMachineArn', Value: ref(ids.sm) }],
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
      AlarmActions: [ref(ids.topic)],
    });
    // The targets' alarms do not change with the fan-out.
    const targetAlarms = [...s.stack.alarms.keys()].filter((k) => !monitorAlarms(s).includes(k) && !k.startsWith('failover-watch/'));
    expect(targetAlarms.sort()).toEqual([
      'app-alb/ResolutionFailed',
      'orders-db/DnsLagSeconds',
      'orders-db/ResolutionFailed',
      'web/StaleConfirmed',
      'web/StaleSuspected',
    ]);
  });

  it('draws the executions and the scheduler on the dashboard, and exports the state machine', () => {
    const titles = dashboardBody(s.template).widgets.map((w) => w.properties.title as string | undefined);
    expect(titles).toEqual(expect.arrayContaining(['workers: runs', 'fan-out: executions', 'fan-out: scheduler (ms)']));
    s.template.hasOutput('StateMachineArn', { Value: ref(ids.sm) });
    s.template.hasOutput('FunctionName', { Value: ref(ids.worker) });
  });

  it("passes cdk-nag, acknowledging exactly: PutMetricData, the two runtimes, no execution logs or tracing, the functions' version qualifiers", () => {
    // Act
    const violations = nagViolations(s.stack);
    // Assess
    expect(violations.map((v) => `${v.ruleName} at ${v.violatingResources.map((r) => r.constructPath).join(', ')}`)).toEqual([]);
    expect(acknowledged(s.stack)).toEqual([
      `Ipdrift/FailoverWatch/Function ${NAG_FINDINGS.notLatestRuntime}`,
      `Ipdrift/FailoverWatch/Role ${NAG_FINDINGS.dataKeyWildcard}`,
      `Ipdrift/FailoverWatch/Role ${NAG_FINDINGS.putMetricDataWildcard}`,
      `Ipdrift/FanOut/SchedulerFunction ${NAG_FINDINGS.notLatestRuntime}`,
      'Ipdrift/FanOut/StateMachine AwsSolutions-SF1',
      'Ipdrift/FanOut/StateMachine AwsSolutions-SF2',
      `Ipdrift/FanOut/StateMachine/Role AwsSolutions-IAM5[Resource::<${ids.scheduler}.Arn>:*]`,
      `Ipdrift/FanOut/StateMachine/Role AwsSolutions-IAM5[Resource::<${ids.worker}.Arn>:*]`,
      `Ipdrift/FanOut/WorkerFunction ${NAG_FINDINGS.notLatestRuntime}`,
      `Ipdrift/FunctionRole ${NAG_FINDINGS.dataKeyWildcard}`,
      `Ipdrift/FunctionRole ${NAG_FINDINGS.putMetricDataWildcard}`,
    ]);
  });
});

describe('fan-out at 1,000 ELB targets, metrics "minimal", the default shard size', () => {
  let s: Synth;
  let nested: NestedStack[];
  beforeAll(() => {
    s = synth({ config: elbConfig(1000, 'minimal') });
    nested = s.stack.node.children.filter((c): c is NestedStack => c instanceof NestedStack);
  }, 60_000);

  it('splits into 13 shards of at most 100 targets, one worker at a time each', () => {
    expect(s.stack.shardPlan.shards).toHaveLength(13);
    for (const sh of s.stack.shardPlan.shards) expect(sh.targets.length).toBeLessThanOrEqual(100);
    s.template.hasResourceProperties('AWS::Lambda::Function', { Handler: 'worker.handler', ReservedConcurrentExecutions: Match.absent() });
    s.template.hasResourceProperties('AWS::Lambda::Function', { Handler: 'scheduler.handler', Environment: { Variables: { IPDRIFT_SHARD_SIZE: '100' } } });
  });

  it("puts 1,000 target alarms in nested stacks of 400, every template under CloudFormation's 500 resources", () => {
    // Act
    const counts = nested.map((n) => Object.keys(Template.fromStack(n).toJSON().Resources as object).length);
    // Assess
    expect(counts).toEqual([400, 400, 200]);
    expect(counts.reduce((a, b) => a + b, 0)).toBe(1000 * alarmedMetrics('elb').length);
    expect(Object.keys(s.template.toJSON().Resources as object).length).toBeLessThan(500 - ALARM_LAYOUT.perNestedStack);
    s.template.resourceCountIs('AWS::CloudFormation::Stack', 3);
    const inner = Template.fromStack(nested[0]!);
    inner.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'Ipdrift.alb-0000-ResolutionFailed',
      MetricName: 'ResolutionFailed',
      Dimensions: [{ Name: 'Target', Value: 'alb-0000' }],
      AlarmActions: Match.absent(),
    });
  });

  it("draws one SEARCH graph per published metric instead of 1,000 rows, and only the monitor's alarms in the alarm widget", () => {
    // Act
    const { widgets } = dashboardBody(s.template);
    // Assess
    const searches = widgets.filter((w) => JSON.stringify(w).includes('SEARCH('));
    expect(searches.map((w) => w.properties.title)).toEqual(['ResolutionFailed (every target)']);
    expect(JSON.stringify(searches[0])).toContain(`SEARCH('{ipdrift,Target} MetricName=\\"ResolutionFailed\\"', 'Maximum', 60)`);
    expect(widgets.filter((w) => w.type === 'alarm').map((w) => w.properties.alarms.length)).toEqual([STACK_SHAPE.fanOutAlarms]);
    expect(widgets.length).toBeLessThan(20);
  });

  it('passes cdk-nag, nested stacks included', () => {
    expect(nagViolations(s.stack)).toEqual([]);
  });
});

describe('up to the shard size: the single-function shape', () => {
  it.each([
    ['the example config at the default shard size', {}],
    ['3 targets at shard size 3', { shardSize: 3 }],
  ])('%s', (_label, props) => {
    // Act
    const full = synth(props);
    const s = { ...full, template: withoutFailoverWatch(full.template) };
    // Assess
    expect(s.stack.fanOut).toBeUndefined();
    s.template.resourceCountIs('AWS::StepFunctions::StateMachine', 0);
    s.template.resourceCountIs('AWS::Lambda::Function', 1);
    s.template.hasResourceProperties('AWS::Lambda::Function', { Handler: 'monitor.handler', ReservedConcurrentExecutions: Match.absent() });
    expect(monitorAlarms(s)).toHaveLength(STACK_SHAPE.monitorAlarms);
    s.template.resourceCountIs('AWS::CloudWatch::Dashboard', STACK_SHAPE.dashboards);
    s.template.resourceCountIs('AWS::KMS::Key', STACK_SHAPE.kmsKeys);
    s.template.resourceCountIs('AWS::CloudFormation::Stack', 0);
  });

  it("uses the cost estimate's default memory", () => {
    expect(MONITOR_DEFAULTS.memorySize).toBe(COST_ASSUMPTIONS.defaultMemoryMb);
  });
});

describe('metrics "minimal" in one function', () => {
  it('draws only the published metrics and keeps every alarm', () => {
    // Act
    const s = synth({ config: { ...EXAMPLE_CONFIG, metrics: 'minimal' } });
    // Assess
    const drawn = dashboardBody(s.template).widgets.flatMap((w) =>
      ((w.properties.metrics ?? []) as unknown[][]).filter((m) => m[0] === 'ipdrift').map((m) => `${m[3]}/${m[1]}`),
    );
    expect(drawn).toEqual([
      'app-alb/ResolutionFailed',
      'web/StaleSuspected',
      'web/StaleConfirmed',
      'orders-db/ResolutionFailed',
      'orders-db/DnsLagSeconds',
      'orders-db/FailoverSeconds',
    ]);
    // 5 of the targets + the failover watcher's Errors and Duration.
    expect([...s.stack.alarms.keys()].filter((k) => !k.startsWith('function/'))).toHaveLength(7);
  });
});

describe('MonitorStack refuses a shard size it cannot run', () => {
  const build = (props: Partial<ConstructorParameters<typeof MonitorStack>[2]>) => () =>
    new MonitorStack(new App(), 'Bad', { config: EXAMPLE_CONFIG, codePath: stubCodePath(), outsideVpc: true, ...props });

  it.each([
    ['zero', { shardSize: 0 }, /shard size: expected a positive whole number of targets, got 0/],
    ['more shards than a Map state runs at once', { config: elbConfig(60), shardSize: 1 }, /shardSize 1: 60 shards, over the 40 a Map state runs at once/],
  ] as const)('%s', (_label, props, message) => {
    expect(build(props as never)).toThrow(message);
  });
});
