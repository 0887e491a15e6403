/**
 * MonitorStack: the synthesized template, resource by resource, and cdk-nag AwsSolutions.
 * Each describe synthesizes once (a synth takes seconds) and its tests only read.
 */
import { App, Duration } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/core/config.ts';
import { BundleNotFoundError } from '../lib/lambda-bundle.ts';
import { MonitorStack, NAG_FINDINGS, TABLE_ACTIONS } from '../lib/monitor-stack.ts';
import { VpcRequiredError } from '../lib/network.ts';
import { triggerOf } from '../../src/lambda/monitor.ts';
import { TABLE_KEYS } from '../../src/contract.ts';
import { CREATE_RECORD_DOC, ENVELOPE_DOC, delivered, eniCreate, eniDelete } from '../../test/fixtures/events/eni-calls.ts';
import {
  EXAMPLE_CONFIG,
  NO_AURORA_CONFIG,
  TWO_CLUSTERS_CONFIG,
  VPC_IDS,
  actionsOf,
  dashboardBody,
  identityStatements,
  nagViolations,
  onlyResource,
  stubCodePath,
  acknowledgments,
  synth,
  withoutFailoverWatch,
  arnOf,
  clusterArn,
  matchesPattern,
  ref,
  statementsOfRole,
} from './helpers.ts';
import type { Statement, Synth } from './helpers.ts';

describe('MonitorStack, example config (elb + web-tier + aurora), no VPC, email subscription', () => {
  let s: Synth;
  let ids: { table: string; topic: string; events: string; key: string; fn: string; logGroup: string; role: string };

  beforeAll(() => {
    // The failover watcher (the example has an aurora target) is failover-watch.test.ts's.
    const full = synth({ alarmSubscriptions: { email: 'oncall@example.com' }, eventSubscriptions: { email: 'changes@example.com' } });
    s = { ...full, template: withoutFailoverWatch(full.template) };
    const id = (c: { node: { defaultChild?: unknown } }) => s.stack.getLogicalId(c.node.defaultChild as never);
    ids = {
      table: id(s.stack.table),
      topic: id(s.stack.topic),
      events: id(s.stack.eventsTopic),
      key: id(s.stack.topicKey),
      fn: id(s.stack.fn),
      logGroup: id(s.stack.logGroup),
      role: id(s.stack.role),
    };
  });

  describe('Lambda', () => {
    it('runs nodejs22.x on arm64 with the bundle handler, 256 MB, 55 s, no reserved concurrency (optimistic locking makes overlaps safe)', () => {
      // Prepare / Act: synthesized once above.
      // Assess
      s.template.hasResourceProperties('AWS::Lambda::Function', {
        Runtime: 'nodejs22.x',
        Architectures: ['arm64'],
        Handler: 'monitor.handler',
        MemorySize: 256,
        Timeout: 55,
        ReservedConcurrentExecutions: Match.absent(),
        Role: arnOf(ids.role),
        LoggingConfig: { LogGroup: ref(ids.logGroup) },
      });
      s.template.resourceCountIs('AWS::Lambda::Function', 1);
    });

    it('gets exactly the five environment variables', () => {
      const { resource } = onlyResource(s.template, 'AWS::Lambda::Function');

      const env = (resource.Properties.Environment as { Variables: Record<string, unknown> }).Variables;

      expect(env).toEqual({
        IPDRIFT_CONFIG_FILE: '/var/task/ipdrift.config.json',
        IPDRIFT_TABLE: ref(ids.table),
        IPDRIFT_TOPIC_ARN: ref(ids.topic),
        IPDRIFT_EVENTS_TOPIC_ARN: ref(ids.events),
        NODE_OPTIONS: '--enable-source-maps',
      });
    });

    it('ships the bundle with the config next to it as ipdrift.config.json', () => {
      const { resource } = onlyResource(s.template, 'AWS::Lambda::Function');
      const key = (resource.Properties.Code as { S3Key: string }).S3Key;

      const assetDir = join(s.app.outdir, `asset.${key.replace(/\.zip$/, '')}`);

      expect(readFileSync(join(assetDir, 'monitor.mjs'), 'utf8')).toBe(readFileSync(join(stubCodePath(), 'monitor.mjs'), 'utf8'));
      expect(JSON.parse(readFileSync(join(assetDir, 'ipdrift.config.json'), 'utf8'))).toEqual(EXAMPLE_CONFIG);
    });

    it('is not in a VPC when none is given', () => {
      const { resource } = onlyResource(s.template, 'AWS::Lambda::Function');

      expect(resource.Properties.VpcConfig).toBeUndefined();
      s.template.resourceCountIs('AWS::EC2::SecurityGroup', 0);
    });

    it('never retries a failed or stale check (the next one comes in a minute)', () => {
      s.template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
        FunctionName: ref(ids.fn),
        MaximumRetryAttempts: 0,
        MaximumEventAgeInSeconds: 60,
      });
    });

    it('logs to its own log group with a retention', () => {
      s.template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 30 });
      s.template.resourceCountIs('AWS::Logs::LogGroup', 1);
    });
  });

  describe('schedule', () => {
    it('invokes the function at rate(1 minute), and EventBridge may invoke it', () => {
      s.template.hasResourceProperties('AWS::Events::Rule', {
        ScheduleExpression: 'rate(1 minute)',
        State: 'ENABLED',
        Targets: [Match.objectLike({ Arn: arnOf(ids.fn) })],
      });
      s.template.hasResourceProperties('AWS::Lambda::Permission', {
        Action: 'lambda:InvokeFunction',
        FunctionName: arnOf(ids.fn),
        Principal: 'events.amazonaws.com',
      });
    });
  });

  describe('state table', () => {
    it('has pk/sk strings, on-demand billing, PITR, TTL on expiresAt and KMS encryption', () => {
      s.template.hasResourceProperties('AWS::DynamoDB::Table', {
        KeySchema: [
          { AttributeName: 'pk', KeyType: 'HASH' },
          { AttributeName: 'sk', KeyType: 'RANGE' },
        ],
        AttributeDefinitions: [
          { AttributeName: 'pk', AttributeType: 'S' },
          { AttributeName: 'sk', AttributeType: 'S' },
        ],
        BillingMode: 'PAY_PER_REQUEST',
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
        // SSEEnabled without a key id: KMS with the AWS managed key (aws/dynamodb).
        SSESpecification: { SSEEnabled: true, KMSMasterKeyId: Match.absent() },
      });
    });

    it('is retained when the stack is deleted (history and open alerts)', () => {
      s.template.hasResource('AWS::DynamoDB::Table', { DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
    });
  });

  describe('alert topic', () => {
    it('is encrypted with a customer-managed key that rotates', () => {
      s.template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: arnOf(ids.key) });
      s.template.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
    });

    it('deletes the key with the stack, after a 7-day waiting period (SNS keeps no messages)', () => {
      s.template.hasResource('AWS::KMS::Key', { DeletionPolicy: 'Delete', Properties: Match.objectLike({ PendingWindowInDays: 7 }) });
    });

    it('lets CloudWatch alarms use the key (Decrypt, GenerateDataKey*)', () => {
      s.template.hasResourceProperties('AWS::KMS::Key', {
        KeyPolicy: {
          Statement: Match.arrayWith([
            {
              Sid: 'AllowCloudWatchAlarmsToUseTheKey',
              Effect: 'Allow',
              Principal: { Service: 'cloudwatch.amazonaws.com' },
              Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
              Resource: '*',
            },
          ]),
        },
      });
    });

    it("denies publishing without TLS and admits only this stack's alarms from this account", () => {
      const policies = Object.values(s.template.findResources('AWS::SNS::TopicPolicy')) as {
        Properties: { Topics: unknown[]; PolicyDocument: { Statement: Statement[] } };
      }[];
      const resource = policies.find((p) => JSON.stringify(p.Properties.Topics) === JSON.stringify([ref(ids.topic)]))!;
      const events = policies.find((p) => JSON.stringify(p.Properties.Topics) === JSON.stringify([ref(ids.events)]))!;

      const statements = resource.Properties.PolicyDocument.Statement;

      expect(policies).toHaveLength(2);
      // The events topic: TLS only, and no alarm may publish there (information never pages).
      expect(events.Properties.PolicyDocument.Statement.map((st) => st.Sid)).toEqual(['AllowPublishThroughSSLOnly']);
      expect(statements).toEqual([
        {
          Sid: 'AllowPublishThroughSSLOnly',
          Effect: 'Deny',
          Principal: '*',
          Action: 'sns:Publish',
          Resource: ref(ids.topic),
          Condition: { Bool: { 'aws:SecureTransport': 'false' } },
        },
        {
          Sid: 'AllowThisStacksAlarmsToPublish',
          Effect: 'Allow',
          Principal: { Service: 'cloudwatch.amazonaws.com' },
          Action: 'sns:Publish',
          Resource: ref(ids.topic),
          Condition: {
            StringEquals: { 'aws:SourceAccount': ref('AWS::AccountId') },
            ArnLike: {
              'aws:SourceArn': {
                'Fn::Join': ['', ['arn:', ref('AWS::Partition'), ':cloudwatch:', ref('AWS::Region'), ':', ref('AWS::AccountId'), ':alarm:Ipdrift.*']],
              },
            },
          },
        },
      ]);
    });

    it('has the two email subscriptions, each on its own topic, and no other', () => {
      s.template.resourceCountIs('AWS::SNS::Subscription', 2);
      s.template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'oncall@example.com', TopicArn: ref(ids.topic) });
      s.template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'changes@example.com', TopicArn: ref(ids.events) });
    });
  });

  describe('alarms', () => {
    /** [alarm name suffix, metric, target, threshold, M of N] per target alarm (dashboard state, no actions). */
    const FINDINGS_ALARMS = [
      ['app-alb-ResolutionFailed', 'ResolutionFailed', 'app-alb', 1, 3],
      ['web-StaleConfirmed', 'StaleConfirmed', 'web', 1, 1],
      ['web-StaleSuspected', 'StaleSuspected', 'web', 1, 1],
      ['orders-db-ResolutionFailed', 'ResolutionFailed', 'orders-db', 1, 3],
      ['orders-db-DnsLagSeconds', 'DnsLagSeconds', 'orders-db', 10, 1],
    ] as const;

    it.each(FINDINGS_ALARMS)('%s: %s of target %s >= %d in %d of as many periods, no action', (suffix, metric, target, threshold, n) => {
      s.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        AlarmName: `Ipdrift.${suffix}`,
        Namespace: 'ipdrift',
        MetricName: metric,
        Dimensions: [{ Name: 'Target', Value: target }],
        Statistic: 'Maximum',
        Period: 60,
        Threshold: threshold,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        EvaluationPeriods: n,
        DatapointsToAlarm: n,
        TreatMissingData: 'notBreaching',
        AlarmActions: Match.absent(),
        OKActions: Match.absent(),
      });
    });

    it('alarms on a target only for metrics its type emits (no StaleSuspected on an ELB, no DNS lag on a web tier), never on RetiredDead', () => {
      const alarms = Object.values(s.template.findResources('AWS::CloudWatch::Alarm')) as Array<{
        Properties: { Namespace?: string; MetricName: string; Dimensions?: Array<{ Value: string }> };
      }>;

      const findings = alarms
        .filter((a) => a.Properties.Namespace === 'ipdrift')
        .map((a) => `${a.Properties.Dimensions?.[0]?.Value}/${a.Properties.MetricName}`)
        .sort();

      expect(findings).toEqual(FINDINGS_ALARMS.map(([, metric, target]) => `${target}/${metric}`).sort());
      expect(findings.some((f) => f.endsWith('/RetiredDead') || f.endsWith('/RetiredAnswering'))).toBe(false);
    });

    it("one message per condition reaches on-call: ipdrift's notice; no alarm on a target's metric has an action", () => {
      // Everything that can publish to the on-call topic about a target: the function (its notice,
      // one per transition) and any alarm on that target's metrics. Count the alarms per target.
      const alarms = Object.values(s.template.findResources('AWS::CloudWatch::Alarm')) as Array<{
        Properties: {
          Namespace?: string;
          Dimensions?: Array<{ Value: string }>;
          AlarmActions?: unknown[];
          OKActions?: unknown[];
          InsufficientDataActions?: unknown[];
        };
      }>;
      const onCall = JSON.stringify(ref(ids.topic));
      const paging = (a: (typeof alarms)[number]) =>
        [...(a.Properties.AlarmActions ?? []), ...(a.Properties.OKActions ?? []), ...(a.Properties.InsufficientDataActions ?? [])].some(
          (x) => JSON.stringify(x) === onCall,
        );

      const perTarget = Object.fromEntries(
        s.stack.config.targets.map((t) => [
          t.name,
          1 + alarms.filter((a) => a.Properties.Namespace === 'ipdrift' && a.Properties.Dimensions?.[0]?.Value === t.name && paging(a)).length,
        ]),
      );

      expect(perTarget).toEqual({ 'app-alb': 1, web: 1, 'orders-db': 1 });
      // And the events topic is no alarm's action at all.
      expect(alarms.filter((a) => JSON.stringify(a).includes(JSON.stringify(ref(ids.events))))).toEqual([]);
    });

    it.each([
      ['Errors', 'Sum', 'GreaterThanOrEqualToThreshold', 1, 'notBreaching'],
      ['Throttles', 'Sum', 'GreaterThanOrEqualToThreshold', 1, 'notBreaching'],
      ['Duration', 'Maximum', 'GreaterThanOrEqualToThreshold', 44_000, 'notBreaching'],
      // The dead man's switch: no data means the monitor stopped, which must alarm.
      ['Invocations', 'Sum', 'LessThanThreshold', 1, 'breaching'],
    ] as const)("the function's own %s (%s over 5 min) %s %d, missing data %s", (metric, statistic, op, threshold, missing) => {
      s.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Namespace: 'AWS/Lambda',
        MetricName: metric,
        Dimensions: [{ Name: 'FunctionName', Value: ref(ids.fn) }],
        Statistic: statistic,
        Period: 300,
        EvaluationPeriods: 1,
        ComparisonOperator: op,
        Threshold: threshold,
        TreatMissingData: missing,
        AlarmActions: [ref(ids.topic)],
        OKActions: [ref(ids.topic)],
      });
    });

    it('has 5 target alarms (no actions) + 4 function alarms (to on-call), every one named under the prefix the topic policy admits', () => {
      const alarms = Object.values(s.template.findResources('AWS::CloudWatch::Alarm')) as Array<{
        Properties: { AlarmName: string; Namespace: string; AlarmActions?: unknown[]; OKActions?: unknown[] };
      }>;

      expect(alarms).toHaveLength(9);
      for (const a of alarms) {
        expect(a.Properties.AlarmName.startsWith(s.stack.alarmNamePrefix)).toBe(true);
        const own = a.Properties.Namespace !== 'ipdrift';
        expect(a.Properties.AlarmActions).toEqual(own ? [ref(ids.topic)] : undefined);
        expect(a.Properties.OKActions).toEqual(own ? [ref(ids.topic)] : undefined);
      }
    });
  });

  describe('IAM', () => {
    it('gives the function exactly these statements, each on its one resource', () => {
      const { resource } = onlyResource(s.template, 'AWS::IAM::Policy');

      const statements = (resource.Properties.PolicyDocument as { Statement: Statement[] }).Statement;

      expect(resource.Properties.Roles).toEqual([ref(ids.role)]);
      expect(statements).toEqual([
        { Sid: 'StateTable', Effect: 'Allow', Action: [...TABLE_ACTIONS], Resource: arnOf(ids.table) },
        { Sid: 'AlertTopic', Effect: 'Allow', Action: 'sns:Publish', Resource: [ref(ids.topic), ref(ids.events)] },
        { Sid: 'AlertTopicKey', Effect: 'Allow', Action: ['kms:Decrypt', 'kms:GenerateDataKey*'], Resource: arnOf(ids.key) },
        {
          Sid: 'Metrics',
          Effect: 'Allow',
          Action: 'cloudwatch:PutMetricData',
          Resource: '*',
          Condition: { StringEquals: { 'cloudwatch:namespace': 'ipdrift' } },
        },
        { Sid: 'Logs', Effect: 'Allow', Action: ['logs:CreateLogStream', 'logs:PutLogEvents'], Resource: arnOf(ids.logGroup) },
        { Sid: 'AuroraWriterLookup', Effect: 'Allow', Action: 'rds:DescribeDBClusters', Resource: clusterArn('orders') },
      ]);
    });

    it('grants the table only the operations the store uses', () => {
      expect([...TABLE_ACTIONS]).toEqual([
        'dynamodb:BatchGetItem',
        'dynamodb:BatchWriteItem',
        'dynamodb:DeleteItem',
        'dynamodb:GetItem',
        'dynamodb:PutItem',
        'dynamodb:Query',
      ]);
    });

    it('has no `*` resource except PutMetricData under its namespace condition', () => {
      const wildcard = identityStatements(s.template).filter((st) => st.Resource === '*' || (Array.isArray(st.Resource) && st.Resource.includes('*')));

      expect(wildcard).toEqual([
        {
          Sid: 'Metrics',
          Effect: 'Allow',
          Action: 'cloudwatch:PutMetricData',
          Resource: '*',
          Condition: { StringEquals: { 'cloudwatch:namespace': 'ipdrift' } },
        },
      ]);
    });

    it('attaches no managed policy outside a VPC (no AWSLambdaBasicExecutionRole logs:* on every group)', () => {
      const { resource } = onlyResource(s.template, 'AWS::IAM::Role');

      expect(resource.Properties.ManagedPolicyArns).toBeUndefined();
      expect(resource.Properties.AssumeRolePolicyDocument).toEqual({
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Action: 'sts:AssumeRole', Principal: { Service: 'lambda.amazonaws.com' } }],
      });
    });
  });

  describe('dashboard and outputs', () => {
    it("has the monitor row, then one row per target with that target's metrics (an aurora target's adds the watcher's FailoverSeconds)", () => {
      const { widgets } = dashboardBody(s.template);

      const rows = new Map<number, Array<Record<string, any>>>();
      for (const w of widgets) rows.set(w.y, [...(rows.get(w.y) ?? []), w]);
      const metricsOfRow = (row: Array<Record<string, any>>) =>
        row
          .flatMap((w) => (w.properties.metrics ?? []) as unknown[][])
          .filter((m) => m[0] === 'ipdrift')
          .map((m) => `${m[3]}/${m[1]}`);
      const targetRows = [...rows.entries()]
        .sort(([a], [b]) => a - b)
        .map(([, row]) => row)
        .filter((row) => metricsOfRow(row).length > 0);

      expect(targetRows.map(metricsOfRow)).toEqual([
        [
          'app-alb/Addresses',
          'app-alb/AddressesRetired',
          'app-alb/RetiredAnswering',
          'app-alb/RetiredDead',
          'app-alb/ProbeFailures',
          'app-alb/ResolutionFailed',
        ],
        ['web/StaleSuspected', 'web/StaleConfirmed', 'web/ProbeFailures', 'web/WebLatencyMs'],
        [
          'orders-db/Addresses',
          'orders-db/AddressesRetired',
          'orders-db/RetiredAnswering',
          'orders-db/RetiredDead',
          'orders-db/ProbeFailures',
          'orders-db/ResolutionFailed',
          'orders-db/DnsLagSeconds',
          'orders-db/FailoverSeconds',
        ],
      ]);
      // 9 of the monitor + 2 of the failover watcher.
      expect(widgets.some((w) => w.type === 'alarm' && w.properties.alarms.length === 11)).toBe(true);
    });

    it('exports the function, table, topic, log group and dashboard names', () => {
      for (const [name, value] of [
        ['FunctionName', ref(ids.fn)],
        ['TableName', ref(ids.table)],
        ['TopicArn', ref(ids.topic)],
        ['EventsTopicArn', ref(ids.events)],
        ['LogGroupName', ref(ids.logGroup)],
      ] as const) {
        s.template.hasOutput(name, { Value: value });
      }
      s.template.hasOutput('DashboardName', {});
    });
  });

  describe('cdk-nag AwsSolutions', () => {
    it('leaves no unacknowledged error or warning', () => {
      // Act
      const violations = nagViolations(s.stack);

      // Assess: print what is left, so a failure says which rule on which resource.
      expect(violations.map((v) => `${v.ruleName} (${v.severity}) at ${v.violatingResources.map((r) => r.constructPath).join(', ')}`)).toEqual([]);
    });

    it('acknowledges exactly IAM5 (Resource::* and the data-key action) on the roles and L1 on the functions (monitor and failover watcher), each with a reason', () => {
      const acks = acknowledgments(s.stack);

      expect(acks.map(({ path, id }) => `${path} ${id}`).sort()).toEqual([
        `Ipdrift/FailoverWatch/Function ${NAG_FINDINGS.notLatestRuntime}`,
        `Ipdrift/FailoverWatch/Role ${NAG_FINDINGS.dataKeyWildcard}`,
        `Ipdrift/FailoverWatch/Role ${NAG_FINDINGS.putMetricDataWildcard}`,
        `Ipdrift/FunctionRole ${NAG_FINDINGS.dataKeyWildcard}`,
        `Ipdrift/FunctionRole ${NAG_FINDINGS.putMetricDataWildcard}`,
        `Ipdrift/MonitorFunction ${NAG_FINDINGS.notLatestRuntime}`,
      ]);
      for (const a of acks) expect(a.reason.length).toBeGreaterThan(80);
    });
  });
});

describe('MonitorStack without Aurora targets', () => {
  let s: Synth;
  beforeAll(() => {
    s = synth({ config: NO_AURORA_CONFIG });
  });

  it('grants no rds action at all', () => {
    const rds = identityStatements(s.template).filter((st) => actionsOf(st).some((a) => a.startsWith('rds:')));

    expect(rds).toEqual([]);
  });

  it('creates no DNS lag alarm, no email or HTTPS subscription', () => {
    s.template.resourcePropertiesCountIs('AWS::CloudWatch::Alarm', { MetricName: 'DnsLagSeconds' }, 0);
    s.template.resourceCountIs('AWS::SNS::Subscription', 0);
  });

  it('passes cdk-nag', () => {
    expect(nagViolations(s.stack)).toEqual([]);
  });
});

describe('MonitorStack with two Aurora clusters (one in another region), custom timeout, memory and schedule', () => {
  let s: Synth;
  beforeAll(() => {
    s = synth({
      config: TWO_CLUSTERS_CONFIG,
      functionTimeout: Duration.seconds(40),
      memorySize: 128,
      schedule: Duration.minutes(3),
      alarmSubscriptions: { httpsUrl: 'https://events.example.com/sns' },
    });
  });

  it("scopes rds:DescribeDBClusters to both cluster ARNs, each in its own region (the monitor's role and the failover watcher's)", () => {
    const rds = identityStatements(s.template).filter((st) => actionsOf(st).some((a) => a.startsWith('rds:')));

    const lookup = {
      Sid: 'AuroraWriterLookup',
      Effect: 'Allow',
      Action: 'rds:DescribeDBClusters',
      Resource: [clusterArn('orders'), clusterArn('users', 'us-east-2')],
    };
    expect(rds).toEqual([lookup, lookup]);
  });

  it("takes each cluster's DNS lag threshold from its config (default 10 s, here 30 s)", () => {
    s.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'DnsLagSeconds',
      Dimensions: [{ Name: 'Target', Value: 'orders-db' }],
      Threshold: 10,
    });
    s.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'DnsLagSeconds',
      Dimensions: [{ Name: 'Target', Value: 'users-db' }],
      Threshold: 30,
    });
  });

  it('applies the props: 128 MB, 40 s, rate(3 minutes), Duration alarm at 80% of 40 s', () => {
    s.template.hasResourceProperties('AWS::Lambda::Function', { MemorySize: 128, Timeout: 40 });
    s.template.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'rate(3 minutes)' });
    s.template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'Duration', Threshold: 32_000 });
  });

  it('derives alarm periods from the interval: one check per findings period, "not running" after 2 intervals', () => {
    // 3 of 3 one-check periods: with 1-minute periods and a check every 3 minutes, two of
    // every three periods would be empty and ResolutionFailed could never alarm.
    s.template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'ResolutionFailed', Period: 180, EvaluationPeriods: 3, DatapointsToAlarm: 3 });
    s.template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'DnsLagSeconds', Period: 180 });
    s.template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'Invocations', Period: 360, ComparisonOperator: 'LessThanThreshold' });
    s.template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'Errors', Period: 300 });
  });

  it('subscribes the HTTPS endpoint', () => {
    s.template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'https', Endpoint: 'https://events.example.com/sns' });
  });
});

describe('MonitorStack in a VPC, with a security group it creates', () => {
  let s: Synth;
  beforeAll(() => {
    s = synth({ config: TWO_CLUSTERS_CONFIG, vpc: { vpcId: VPC_IDS.vpcId, subnetIds: [...VPC_IDS.subnetIds] } });
  });

  it('runs the function in the given private subnets with the created group', () => {
    const sg = onlyResource(s.template, 'AWS::EC2::SecurityGroup');

    s.template.hasResourceProperties('AWS::Lambda::Function', {
      VpcConfig: { SubnetIds: [...VPC_IDS.subnetIds], SecurityGroupIds: [{ 'Fn::GetAtt': [sg.id, 'GroupId'] }] },
    });
    expect(sg.resource.Properties.VpcId).toBe(VPC_IDS.vpcId);
    expect(sg.resource.Properties.SecurityGroupIngress).toBeUndefined();
  });

  it("lets the group reach only the targets' ports, DNS (the resolvers' ports) and HTTPS", () => {
    const { resource } = onlyResource(s.template, 'AWS::EC2::SecurityGroup');

    const egress = (resource.Properties.SecurityGroupEgress as Array<{ IpProtocol: string; FromPort: number; ToPort: number }>).map(
      (r) => `${r.IpProtocol}/${r.FromPort}-${r.ToPort}`,
    );

    expect(egress).toEqual(['tcp/53-53', 'tcp/443-443', 'tcp/3306-3306', 'tcp/5353-5353', 'tcp/5432-5432', 'udp/53-53', 'udp/5353-5353']);
  });

  it('attaches no managed policy: the ENI actions Lambda needs inline (logs only on its own group)', () => {
    const { resource } = onlyResource(withoutFailoverWatch(s.template), 'AWS::IAM::Role');
    const statements = identityStatements(withoutFailoverWatch(s.template));

    expect(resource.Properties.ManagedPolicyArns).toBeUndefined();
    expect(statements.find((st) => st.Sid === 'VpcNetworkInterfaces')).toEqual({
      Sid: 'VpcNetworkInterfaces',
      Effect: 'Allow',
      Action: [
        'ec2:AssignPrivateIpAddresses',
        'ec2:CreateNetworkInterface',
        'ec2:DeleteNetworkInterface',
        'ec2:DescribeNetworkInterfaces',
        'ec2:DescribeSubnets',
        'ec2:UnassignPrivateIpAddresses',
      ],
      Resource: '*',
    });
    // No logs:* anywhere: the only logs statement is the function's own group.
    expect(statements.filter((st) => JSON.stringify(st.Action).includes('logs:')).map((st) => st.Sid)).toEqual(['Logs']);
  });

  it('passes cdk-nag with no IAM4 (managed policy) finding to acknowledge', () => {
    expect(nagViolations(s.stack)).toEqual([]);
    expect(acknowledgments(s.stack).filter((a) => a.id.startsWith('AwsSolutions-IAM4'))).toEqual([]);
  });
});

describe('MonitorStack: choices a first deploy depends on', () => {
  it('reserves concurrency only when asked: 1 for the monitor, one per shard for the workers', () => {
    // Act
    const single = synth({ reserveConcurrency: true });
    const fanned = synth({ reserveConcurrency: true, shardSize: 1 });
    // Assess
    single.template.hasResourceProperties('AWS::Lambda::Function', { Handler: 'monitor.handler', ReservedConcurrentExecutions: 1 });
    fanned.template.hasResourceProperties('AWS::Lambda::Function', {
      Handler: 'worker.handler',
      ReservedConcurrentExecutions: fanned.stack.shardPlan.shards.length,
    });
  });

  it('has no SSM config path: no parameter name in any environment, no ssm: action in any role', () => {
    const json = JSON.stringify(synth().template.toJSON());
    expect(json).not.toContain('IPDRIFT_CONFIG_PARAMETER');
    expect(json).not.toMatch(/"ssm:/);
  });
});

describe('MonitorStack in a VPC with an existing security group and known AZs', () => {
  let s: Synth;
  beforeAll(() => {
    s = synth({ vpc: { ...VPC_IDS, subnetIds: [...VPC_IDS.subnetIds], availabilityZones: [...VPC_IDS.availabilityZones] } });
  });

  it("uses the given group and creates none (it is someone else's: no rule added)", () => {
    s.template.hasResourceProperties('AWS::Lambda::Function', {
      VpcConfig: { SubnetIds: [...VPC_IDS.subnetIds], SecurityGroupIds: [VPC_IDS.securityGroupId] },
    });
    s.template.resourceCountIs('AWS::EC2::SecurityGroup', 0);
    s.template.resourceCountIs('AWS::EC2::SecurityGroupEgress', 0);
    s.template.resourceCountIs('AWS::EC2::SecurityGroupIngress', 0);
  });

  it('passes cdk-nag', () => {
    expect(nagViolations(s.stack)).toEqual([]);
  });
});

describe('MonitorStack refuses bad input before synthesizing anything', () => {
  const build = (props: Partial<ConstructorParameters<typeof MonitorStack>[2]>) => () =>
    new MonitorStack(new App(), 'Bad', { config: EXAMPLE_CONFIG, codePath: stubCodePath(), outsideVpc: true, ...props });

  it('a config that does not validate, naming the path', () => {
    const act = build({ config: { targets: [{ name: 'x', type: 'elb', host: 'h.example', port: 70000 }] } as never });

    expect(act).toThrow(ConfigError);
    expect(act).toThrow(/targets\[0\]\.port/);
  });

  it('a missing bundle, saying how to build it', () => {
    const act = build({ codePath: join(stubCodePath(), 'nowhere') });

    expect(act).toThrow(BundleNotFoundError);
    expect(act).toThrow(/npm run build/);
  });

  it.each([
    ['an email that is not one', { alarmSubscriptions: { email: 'not-an-address' } }, /alarm email/],
    ['a plain-http subscription URL', { alarmSubscriptions: { httpsUrl: 'http://plain.example.com' } }, /https:\/\//],
    ['a VPC without subnets', { vpc: { vpcId: VPC_IDS.vpcId, subnetIds: [] } }, /subnet/],
    ['fewer AZs than subnets', { vpc: { vpcId: VPC_IDS.vpcId, subnetIds: [...VPC_IDS.subnetIds], availabilityZones: ['eu-west-1a'] } }, /one per subnet/],
    ['a schedule of 90 s', { schedule: Duration.seconds(90) }, /whole minutes/],
    ['a schedule of 2 hours', { schedule: Duration.hours(2) }, /whole minutes from 1 to 60/],
    ['a timeout as long as the schedule', { functionTimeout: Duration.seconds(60) }, /shorter than the schedule/],
  ] as const)('%s', (_label, props, message) => {
    expect(build(props as never)).toThrow(message);
  });
});

describe('MonitorStack without a VPC', () => {
  it('refuses private targets, naming each and the context keys to give', () => {
    // Act
    const act = () => synth({ outsideVpc: false });
    // Assess
    expect(act).toThrow(VpcRequiredError);
    expect(act).toThrow(
      'ipdrift: 3 target(s) can only be reached from inside a VPC, and no VPC was given:\n' +
        '  - app-alb: an internal ELB: its name resolves to private addresses\n' +
        '  - web: 10.0.1.10 is a private address\n' +
        "  - orders-db: an Aurora endpoint: it resolves to the instances' VPC addresses\n" +
        'Run the function in the VPC: -c vpcId=vpc-... -c subnetIds=subnet-a,subnet-b',
    );
  });

  it('synthesizes when every target is public, or when told outsideVpc', () => {
    const publicConfig = {
      targets: [
        { name: 'edge', type: 'elb' as const, host: 'edge-123.eu-west-1.elb.amazonaws.com', port: 443, probe: { protocol: 'https' as const } },
        { name: 'site', type: 'web-tier' as const, url: 'https://www.example.com/health', upstream: 'edge' },
      ],
    };
    expect(() => synth({ config: publicConfig, outsideVpc: false })).not.toThrow();
    expect(() => synth({ outsideVpc: true })).not.toThrow();
  });

  it('an ELB behind an internal alias (a private zone name) needs the VPC too', () => {
    const config = { targets: [{ name: 'alb', type: 'elb' as const, host: 'app.corp.internal', port: 80 }] };
    expect(() => synth({ config, outsideVpc: false })).toThrow('alb: app.corp.internal is an internal name');
  });

  it.each([
    ['http://10.0.1.10/health', 'web: 10.0.1.10 is a private address'],
    ['http://172.20.0.5/health', 'web: 172.20.0.5 is a private address'],
    ['http://[fd12::5]/health', 'web: fd12::5 is a private address'],
    ['http://web.corp.internal/health', 'web: web.corp.internal is an internal name'],
    ['http://intranet/health', 'web: intranet is an internal name'],
  ])('a web tier at %s needs the VPC', (url, line) => {
    const config = {
      targets: [
        { name: 'edge', type: 'elb' as const, host: 'edge-123.eu-west-1.elb.amazonaws.com', port: 80 },
        { name: 'web', type: 'web-tier' as const, url, upstream: 'edge' },
      ],
    };
    expect(() => synth({ config, outsideVpc: false })).toThrow(line);
  });
});

describe('MonitorStack in a VPC with -c endpoints=create', () => {
  const ROUTE_TABLES = ['rtb-0aaaaaaaaaaaaaaa1', 'rtb-0aaaaaaaaaaaaaaa2'];
  const IN_TWO_AZS = { vpcId: VPC_IDS.vpcId, subnetIds: [...VPC_IDS.subnetIds], availabilityZones: [...VPC_IDS.availabilityZones] };
  /** The interface endpoints of a template, by service name suffix. */
  const interfacesOf = (t: Synth['template']) =>
    Object.values(t.findResources('AWS::EC2::VPCEndpoint', { Properties: { VpcEndpointType: 'Interface' } })) as {
      Properties: { ServiceName: unknown; PrivateDnsEnabled: boolean; SubnetIds: string[] };
    }[];
  const serviceOf = (e: { Properties: { ServiceName: unknown } }) => JSON.stringify(e.Properties.ServiceName).match(/\.([a-z]+)"/)?.[1];
  let s: Synth;
  beforeAll(() => {
    s = synth({ vpc: { ...IN_TWO_AZS, createEndpoints: true, routeTableIds: ROUTE_TABLES } });
  });

  it('creates the DynamoDB gateway on the route tables and SNS, CloudWatch and RDS interface endpoints (Aurora in the config), private DNS off', () => {
    s.template.hasResourceProperties('AWS::EC2::VPCEndpoint', { VpcEndpointType: 'Gateway', RouteTableIds: ROUTE_TABLES, VpcId: VPC_IDS.vpcId });
    const interfaces = interfacesOf(s.template);
    expect(interfaces.map(serviceOf).sort()).toEqual(['monitoring', 'rds', 'sns']);
    // Private DNS on would send every workload in the VPC that calls these services to endpoints only the monitor may use.
    expect(interfaces.map((e) => [e.Properties.PrivateDnsEnabled, e.Properties.SubnetIds])).toEqual(interfaces.map(() => [false, [...VPC_IDS.subnetIds]]));
  });

  it("points the functions' SDK clients at each endpoint's own DNS name (AWS_ENDPOINT_URL_<service>), the monitor and the failover watcher alike", () => {
    const functions = Object.values(s.template.findResources('AWS::Lambda::Function')) as {
      Properties: { Environment?: { Variables: Record<string, unknown> } };
    }[];
    const ids = Object.keys(s.template.findResources('AWS::EC2::VPCEndpoint', { Properties: { VpcEndpointType: 'Interface' } }));
    const dnsName = (service: string) => {
      const id = ids.find((i) => i.includes(service))!;
      return {
        'Fn::Join': ['', ['https://', { 'Fn::Select': [1, { 'Fn::Split': [':', { 'Fn::Select': [0, { 'Fn::GetAtt': [id, 'DnsEntries'] }] }] }] }]],
      };
    };
    expect(functions.length).toBeGreaterThanOrEqual(2);
    for (const f of functions)
      expect(f.Properties.Environment?.Variables).toMatchObject({
        AWS_ENDPOINT_URL_SNS: dnsName('sns'),
        AWS_ENDPOINT_URL_CLOUDWATCH: dnsName('monitoring'),
        AWS_ENDPOINT_URL_RDS: dnsName('rds'),
      });
  });

  it('takes one subnet per AZ for the endpoints; two subnets without their AZs are refused, naming the context key', () => {
    // Act
    const sameAz = synth({
      vpc: {
        vpcId: VPC_IDS.vpcId,
        subnetIds: [...VPC_IDS.subnetIds, 'subnet-0ccccccccccccccc3'],
        availabilityZones: ['eu-west-1a', 'eu-west-1b', 'eu-west-1a'],
        createEndpoints: true,
        routeTableIds: ROUTE_TABLES,
      },
    });
    // Assess
    expect(interfacesOf(sameAz.template).map((e) => e.Properties.SubnetIds)).toEqual(interfacesOf(sameAz.template).map(() => [...VPC_IDS.subnetIds]));
    expect(() => synth({ vpc: { vpcId: VPC_IDS.vpcId, subnetIds: [...VPC_IDS.subnetIds], createEndpoints: true, routeTableIds: ROUTE_TABLES } })).toThrow(
      '-c availabilityZones=az-a,az-b, one per subnet',
    );
  });

  it('creates none the VPC already has (existingEndpoints), and a CloudWatch Logs endpoint for resolver logs read there', () => {
    // Prepare
    const config = { ...EXAMPLE_CONFIG, resolverLogs: { source: 'cloudwatch', logGroup: '/route53/resolver/prod' } } as typeof EXAMPLE_CONFIG;
    // Act
    const some = synth({ config, vpc: { ...IN_TWO_AZS, createEndpoints: true, existingEndpoints: ['sns', 'dynamodb'] } });
    // Assess: no route tables needed without the DynamoDB gateway; SNS left to the VPC's own endpoint.
    expect(interfacesOf(some.template).map(serviceOf).sort()).toEqual(['logs', 'monitoring', 'rds']);
    some.template.resourcePropertiesCountIs('AWS::EC2::VPCEndpoint', { VpcEndpointType: 'Gateway' }, 0);
    const env = JSON.stringify(some.template.findResources('AWS::Lambda::Function'));
    expect(env).toContain('AWS_ENDPOINT_URL_CLOUDWATCH_LOGS');
    expect(env).not.toContain('AWS_ENDPOINT_URL_SNS');
  });

  it('with an Aurora login by secret: GetSecretValue on that secret only, and a Secrets Manager endpoint', () => {
    // Prepare
    const arn = 'arn:aws:secretsmanager:ap-northeast-2:123456789012:secret:orders/app-AbCdEf';
    const config = {
      ...EXAMPLE_CONFIG,
      targets: EXAMPLE_CONFIG.targets.map((t) => (t.type === 'aurora' ? { ...t, login: { secretArn: arn } } : t)),
    } as typeof EXAMPLE_CONFIG;
    // Act
    const withLogin = synth({ config, vpc: { ...IN_TWO_AZS, createEndpoints: true, routeTableIds: ROUTE_TABLES } });
    // Assess
    const secrets = identityStatements(withLogin.template).filter((st) => actionsOf(st).some((a) => a.startsWith('secretsmanager:')));
    expect(secrets).toEqual([{ Sid: 'AuroraLoginSecrets', Effect: 'Allow', Action: 'secretsmanager:GetSecretValue', Resource: arn }]);
    expect(identityStatements(s.template).filter((st) => actionsOf(st).some((a) => a.startsWith('secretsmanager:')))).toEqual([]);
    const names = Object.values(withLogin.template.findResources('AWS::EC2::VPCEndpoint', { Properties: { VpcEndpointType: 'Interface' } })).map(
      (e) => JSON.stringify((e as { Properties: { ServiceName: unknown } }).Properties.ServiceName).match(/\.([a-z]+)"/)?.[1],
    );
    expect(names.sort()).toEqual(['monitoring', 'rds', 'secretsmanager', 'sns']);
  });

  it("admits only the monitor's group on 443 to the endpoints, and outputs the group and the lines that admit it to the targets", () => {
    const groups = Object.values(s.template.findResources('AWS::EC2::SecurityGroup')) as {
      Properties: { GroupDescription: string; SecurityGroupIngress?: { FromPort: number; ToPort: number; SourceSecurityGroupId: unknown }[] };
    }[];
    const endpointGroup = groups.find((g) => g.Properties.GroupDescription.startsWith('ipdrift VPC endpoints'))!;
    expect(endpointGroup.Properties.SecurityGroupIngress).toEqual([
      expect.objectContaining({ FromPort: 443, ToPort: 443, SourceSecurityGroupId: { 'Fn::GetAtt': [expect.any(String), 'GroupId'] } }),
    ]);
    s.template.hasOutput('MonitorSecurityGroupId', {});
    const admit = JSON.stringify(s.template.findOutputs('AdmitMonitorCommands'));
    for (const port of [80, 5432, 8080]) expect(admit).toContain(`--protocol tcp --port ${port} --source-group`);
  });

  it('passes cdk-nag', () => {
    expect(nagViolations(s.stack).map((v) => `${v.ruleName} at ${v.violatingResources.map((r) => r.constructPath).join(', ')}`)).toEqual([]);
  });

  it('refuses endpoints=create without route tables, saying which context key', () => {
    expect(() => synth({ vpc: { ...IN_TWO_AZS, createEndpoints: true } })).toThrow('-c routeTableIds=rtb-a,rtb-b');
  });
});

describe('two stacks in one account: alarm names and the topic policies', () => {
  it('never collide, and each topic admits only its own stack\'s alarms (Ipdrift + "prod-web" vs Ipdrift-prod + "web")', () => {
    // Prepare: the pair whose names collided with a "-" after the stack name.
    const elb = (name: string) =>
      ({ targets: [{ name, type: 'elb', host: 'internal-app-123.eu-west-1.elb.amazonaws.com', port: 443 }] }) as typeof EXAMPLE_CONFIG;
    // Act
    const stacks = [synth({ config: elb('prod-web') }, 'Ipdrift'), synth({ config: elb('web') }, 'Ipdrift-prod')];
    // Assess
    const names = stacks.map((s) =>
      Object.values(s.template.findResources('AWS::CloudWatch::Alarm')).map((a) => (a as { Properties: { AlarmName: string } }).Properties.AlarmName),
    );
    expect(names[0]).toContain('Ipdrift.prod-web-ResolutionFailed');
    expect(names[1]).toContain('Ipdrift-prod.web-ResolutionFailed');
    expect(names[0]!.filter((n) => names[1]!.includes(n))).toEqual([]);
    // The policy's ArnLike pattern (its last part: "alarm:<prefix>*") admits its own alarms and none of the other's.
    const patternOf = (s: Synth) => {
      const policy = Object.values(s.template.findResources('AWS::SNS::TopicPolicy')).find((p) => JSON.stringify(p).includes('AllowThisStacksAlarmsToPublish'));
      const joined = JSON.stringify(policy).match(/:alarm:([^"]*)\*"/)![1]!;
      return new RegExp(`^${joined.replace(/[.]/g, '\\.')}`);
    };
    const [own0, own1] = stacks.map(patternOf);
    expect(names[0]!.every((n) => own0!.test(n) && !own1!.test(n))).toBe(true);
    expect(names[1]!.every((n) => own1!.test(n) && !own0!.test(n))).toBe(true);
  });
});

describe('MonitorStack with flow and resolver log evidence from CloudWatch Logs', () => {
  it('grants the Logs Insights queries on those log groups only, and passes cdk-nag', () => {
    // Prepare
    const config = {
      ...EXAMPLE_CONFIG,
      flowLogs: { source: 'cloudwatch', logGroup: '/vpc/flow-logs/prod', ignoreSources: ['10.0.8.0/24'] },
      resolverLogs: { source: 'cloudwatch', logGroup: '/route53/resolver/prod' },
    } as typeof EXAMPLE_CONFIG;
    // Act
    const s = synth({ config });
    // Assess
    const arn = (tail: string) => ({
      'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':logs:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, `:log-group:${tail}`]],
    });
    const queries = identityStatements(s.template).filter((st) => /Logs(Query|QueryResults|StopQuery)$/.test(String(st.Sid ?? '')));
    expect(queries).toEqual([
      { Sid: 'FlowLogsQuery', Effect: 'Allow', Action: 'logs:StartQuery', Resource: [arn('/vpc/flow-logs/prod'), arn('/vpc/flow-logs/prod:*')] },
      { Sid: 'ResolverLogsQuery', Effect: 'Allow', Action: 'logs:StartQuery', Resource: [arn('/route53/resolver/prod'), arn('/route53/resolver/prod:*')] },
      {
        Sid: 'LogsQueryResults',
        Effect: 'Allow',
        Action: 'logs:GetQueryResults',
        Resource: [arn('/vpc/flow-logs/prod'), arn('/vpc/flow-logs/prod:*'), arn('/route53/resolver/prod'), arn('/route53/resolver/prod:*')],
      },
      { Sid: 'LogsStopQuery', Effect: 'Allow', Action: 'logs:StopQuery', Resource: '*' },
    ]);
    expect(nagViolations(s.stack).map((v) => `${v.ruleName} at ${v.violatingResources.map((r) => r.constructPath).join(', ')}`)).toEqual([]);
  });

  it('grants a log group given by its ARN (another account: a monitoring account) on that ARN, with or without :*', () => {
    // Prepare: the two ARN forms CloudWatch Logs documents (logGroupArn, and arn with :*).
    const flowArn = 'arn:aws:logs:us-east-1:111122223333:log-group:/vpc/flow-logs/shared';
    const resolverArn = 'arn:aws:logs:us-east-1:111122223333:log-group:/route53/resolver/shared';
    const config = {
      ...EXAMPLE_CONFIG,
      flowLogs: { source: 'cloudwatch', logGroup: flowArn, ignoreSources: ['10.0.8.0/24'] },
      resolverLogs: { source: 'cloudwatch', logGroup: `${resolverArn}:*` },
    } as typeof EXAMPLE_CONFIG;
    // Act
    const s = synth({ config });
    // Assess
    const queries = identityStatements(s.template).filter((st) => /^(Flow|Resolver)LogsQuery$/.test(String(st.Sid ?? '')));
    expect(queries).toEqual([
      { Sid: 'FlowLogsQuery', Effect: 'Allow', Action: 'logs:StartQuery', Resource: [flowArn, `${flowArn}:*`] },
      { Sid: 'ResolverLogsQuery', Effect: 'Allow', Action: 'logs:StartQuery', Resource: [resolverArn, `${resolverArn}:*`] },
    ]);
    expect(nagViolations(s.stack).map((v) => `${v.ruleName} at ${v.violatingResources.map((r) => r.constructPath).join(', ')}`)).toEqual([]);
  });
});

describe('MonitorStack with -c eniEvents=true', () => {
  // Events built from AWS's documented records (test/fixtures/events/eni-calls.ts says what is changed).
  const created = eniCreate({ interfaceId: 'eni-0123456789abcdef0', at: '2026-12-01T10:00:00Z', addresses: ['10.0.1.5'] });
  const deleted = eniDelete({ interfaceId: 'eni-0123456789abcdef0', at: '2026-12-01T10:05:00Z' });
  const ruleOf = (s: Synth) =>
    s.template.toJSON().Resources[s.stack.getLogicalId(s.stack.elbEniRule!.node.defaultChild as never)] as {
      Properties: {
        EventPattern: Record<string, unknown>;
        Targets: { Arn: unknown; InputTransformer?: { InputPathsMap: Record<string, string>; InputTemplate: string } }[];
      };
    };

  it("adds a rule on the ELB service-linked role's interface calls that starts a check at once; none without the flag", () => {
    // Act
    const s = synth({ elbEniEvents: true });
    const plain = synth();
    // Assess
    const rule = ruleOf(s);
    expect(rule.Properties.Targets.map((t) => t.Arn)).toEqual([arnOf(s.stack.getLogicalId(s.stack.fn.node.defaultChild as never))]);
    // The whole event reaches the monitor: it records the interface before the check.
    expect(rule.Properties.Targets[0]!.InputTransformer).toBeUndefined();
    expect(matchesPattern(rule.Properties.EventPattern, deleted)).toBe(true);
    expect(matchesPattern(rule.Properties.EventPattern, created)).toBe(true);
    expect(matchesPattern(rule.Properties.EventPattern, eniDelete({ interfaceId: 'eni-1', at: '2026-12-01T10:05:00Z', role: 'SomeDeployRole' }))).toBe(false);
    // The documented record as made by EFS's service-linked role is not an ELB's.
    expect(matchesPattern(rule.Properties.EventPattern, delivered(CREATE_RECORD_DOC))).toBe(false);
    expect(matchesPattern(rule.Properties.EventPattern, ENVELOPE_DOC)).toBe(false);
    expect(plain.stack.elbEniRule).toBeUndefined();
  });

  it('the monitor says what started the check', () => {
    expect(triggerOf(deleted)).toBe('elb-network-interface DeleteNetworkInterface eni-0123456789abcdef0');
    expect(triggerOf(created)).toBe('elb-network-interface CreateNetworkInterface eni-0123456789abcdef0');
    expect(triggerOf({ source: 'aws.events', 'detail-type': 'Scheduled Event' })).toBeUndefined();
  });

  it("with fan-out: the execution gets the call's record, and the scheduler may keep the interfaces' items only", () => {
    // Act
    const s = synth({ elbEniEvents: true, shardSize: 1 });
    const plain = synth({ shardSize: 1 });
    // Assess
    const target = ruleOf(s).Properties.Targets[0]!;
    expect(target.Arn).toEqual(ref(s.stack.getLogicalId(s.stack.fanOut!.stateMachine.node.defaultChild as never)));
    expect(target.InputTransformer).toEqual({
      InputPathsMap: { id: '$.id', time: '$.time', detail: '$.detail' },
      InputTemplate: '{"id":<id>,"time":<time>,"detail":<detail>}',
    });
    const ledger = (t: Synth) =>
      statementsOfRole(t.template, t.stack.getLogicalId(t.stack.fanOut!.schedulerRole.node.defaultChild as never)).find((st) => st.Sid === 'InterfaceLedger');
    expect(ledger(s)).toEqual({
      Sid: 'InterfaceLedger',
      Effect: 'Allow',
      Action: ['dynamodb:GetItem', 'dynamodb:PutItem'],
      Resource: arnOf(s.stack.getLogicalId(s.stack.table.node.defaultChild as never)),
      Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [`${TABLE_KEYS.interfacePrefix}*`] } },
    });
    expect(ledger(plain)).toBeUndefined();
  });
});
