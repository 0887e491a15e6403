/**
 * The Aurora failover watcher in the stack (lib/failover-watch.ts): present exactly when the
 * config has aurora targets; its function, rule, role, alarms and dashboard widgets; and its
 * contract with src/lambda/failover-watch.ts (environment, event ids, metric names, deadline).
 * Each describe synthesizes once and its tests only read.
 */
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { timelineMetricInput } from '../../src/adapters/aws/timeline-metrics.ts';
import { FAILOVER_WATCH_DEFAULTS, RDS_FAILOVER_EVENTS } from '../../src/lambda/failover-watch.ts';
import { FAILOVER_WATCH_METRICS, FAILOVER_WATCH_SETTINGS, RDS_EVENT_PATTERN, WATCHER_TABLE_ACTIONS } from '../lib/failover-watch.ts';
import { BundleNotFoundError } from '../lib/lambda-bundle.ts';
import { NAG_FINDINGS, NAG_REASONS, TABLE_ACTIONS } from '../lib/monitor-stack.ts';
import {
  FAILOVER_WATCH_ID_PREFIX,
  NO_AURORA_CONFIG,
  TWO_CLUSTERS_CONFIG,
  VPC_IDS,
  acknowledgments,
  dashboardBody,
  nagViolations,
  onlyResource,
  stubCodePath,
  synth,
  arnOf,
  clusterArn,
  identityStatements,
  matchesPattern,
  ref,
  resolvePseudo,
} from './helpers.ts';
import type { Statement, Synth } from './helpers.ts';

type Resource = { Properties: Record<string, any> };
const resourceOf = (s: Synth, id: string) => s.template.toJSON().Resources[id] as Resource;

/** AWS's documented sample cluster event (source named in rds-cluster-event-docs.source.md beside it). */
const DOC_EVENT = JSON.parse(readFileSync(join(import.meta.dirname, '../../test/fixtures/events/rds-cluster-event-docs.json'), 'utf8')) as RdsEvent;
type RdsEvent = { account: string; region: string; resources: string[]; detail: Record<string, unknown> } & Record<string, unknown>;

describe('failover watcher: two Aurora clusters (one in another region), no VPC', () => {
  let s: Synth;
  let ids: {
    fn: string;
    role: string;
    logs: string;
    rule: string;
    monitor: string;
    monitorLogs: string;
    table: string;
    topic: string;
    events: string;
    key: string;
  };

  beforeAll(() => {
    s = synth({ config: TWO_CLUSTERS_CONFIG });
    const id = (c: { node: { defaultChild?: unknown } }) => s.stack.getLogicalId(c.node.defaultChild as never);
    const w = s.stack.failoverWatch!;
    ids = {
      fn: id(w.fn),
      role: id(w.role),
      logs: id(w.logGroup),
      rule: id(w.rule),
      monitor: id(s.stack.fn),
      monitorLogs: id(s.stack.logGroup),
      table: id(s.stack.table),
      topic: id(s.stack.topic),
      events: id(s.stack.eventsTopic),
      key: id(s.stack.topicKey),
    };
  });

  describe('function', () => {
    it('runs nodejs22.x on arm64, failover-watch.handler, 256 MB, 180 s, its own role and log group, no reserved concurrency', () => {
      const fn = resourceOf(s, ids.fn);

      expect(ids.fn.startsWith('FailoverWatchFunction')).toBe(true);
      expect(fn.Properties).toMatchObject({
        Runtime: 'nodejs22.x',
        Architectures: ['arm64'],
        Handler: 'failover-watch.handler',
        MemorySize: 256,
        Timeout: 180,
        Role: arnOf(ids.role),
        LoggingConfig: { LogGroup: ref(ids.logs) },
      });
      // Two clusters can fail over at once: each event needs its own sampler.
      expect(fn.Properties.ReservedConcurrentExecutions).toBeUndefined();
      expect(fn.Properties.VpcConfig).toBeUndefined();
    });

    it("gets the monitor's environment (config file, table, topic, source maps), exactly", () => {
      const env = resourceOf(s, ids.fn).Properties.Environment.Variables;

      expect(env).toEqual(resourceOf(s, ids.monitor).Properties.Environment.Variables);
      expect(env).toEqual({
        IPDRIFT_CONFIG_FILE: '/var/task/ipdrift.config.json',
        IPDRIFT_TABLE: ref(ids.table),
        IPDRIFT_TOPIC_ARN: ref(ids.topic),
        IPDRIFT_EVENTS_TOPIC_ARN: ref(ids.events),
        NODE_OPTIONS: '--enable-source-maps',
      });
    });

    it("ships in the monitor's asset, which holds failover-watch.mjs beside monitor.mjs and the config", () => {
      const code = resourceOf(s, ids.fn).Properties.Code as { S3Key: string };

      const assetDir = join(s.app.outdir, `asset.${code.S3Key.replace(/\.zip$/, '')}`);

      expect(code).toEqual(resourceOf(s, ids.monitor).Properties.Code);
      expect(readdirSync(assetDir).sort()).toEqual(['failover-watch.mjs', 'ipdrift.config.json', 'monitor.mjs']);
    });

    it('is never retried and drops an event older than a minute (a retry would sample a finished failover)', () => {
      s.template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
        FunctionName: ref(ids.fn),
        Qualifier: '$LATEST',
        MaximumRetryAttempts: 0,
        MaximumEventAgeInSeconds: 60,
      });
    });

    it("logs to its own log group, with the monitor's retention", () => {
      expect(ids.logs).not.toBe(ids.monitorLogs);
      expect(resourceOf(s, ids.logs).Properties).toEqual({ RetentionInDays: 30 });
    });
  });

  describe('RDS event rule', () => {
    it('matches exactly "failover started" (0072, 0073) of the watched clusters, by cluster ARN in `resources`', () => {
      expect(resourceOf(s, ids.rule).Properties.EventPattern).toEqual({
        source: ['aws.rds'],
        'detail-type': ['RDS DB Cluster Event'],
        resources: [clusterArn('orders'), clusterArn('users', 'us-east-2')],
        detail: { EventID: ['RDS-EVENT-0072', 'RDS-EVENT-0073'] },
      });
      expect(resourceOf(s, ids.rule).Properties.State).toBe('ENABLED');
    });

    it.each([
      ['as AWS documents it ("SourceIdentifier": "rds:my-db-cluster")', (e: RdsEvent) => e],
      ['as accounts deliver it (the bare name)', (e: RdsEvent) => ({ ...e, detail: { ...e.detail, SourceIdentifier: 'my-db-cluster' } })],
    ])('fires on a failover-started cluster event %s, and not on another cluster or event', (_name, shape) => {
      // Prepare: the documented sample (test/fixtures/events/rds-cluster-event-docs.json), its
      // EventID set to a failover start; the stack deployed where the sample's cluster lives.
      const config = {
        targets: [
          {
            name: 'db',
            type: 'aurora' as const,
            host: 'my-db-cluster.cluster-x.us-east-1.rds.amazonaws.com',
            port: 5432,
            engine: 'postgres' as const,
            clusterIdentifier: 'My-DB-Cluster',
          },
        ],
      };
      const other = synth({ config });
      const rule = other.template.toJSON().Resources[other.stack.getLogicalId(other.stack.failoverWatch!.rule.node.defaultChild as never)] as Resource;
      const pattern = resolvePseudo(rule.Properties.EventPattern, {
        'AWS::Partition': 'aws',
        'AWS::Region': DOC_EVENT.region,
        'AWS::AccountId': DOC_EVENT.account,
      }) as Record<string, unknown>;
      const started = shape({ ...DOC_EVENT, detail: { ...DOC_EVENT.detail, EventID: 'RDS-EVENT-0073' } });
      // Act / Assess
      expect(matchesPattern(pattern, started)).toBe(true);
      expect(matchesPattern(pattern, { ...started, detail: { ...started.detail, EventID: 'RDS-EVENT-0173' } })).toBe(false);
      expect(matchesPattern(pattern, { ...started, resources: ['arn:aws:rds:us-east-1:123456789012:cluster:someone-else'] })).toBe(false);
    });

    it('targets the watcher only, with no retry and a one-minute maximum event age', () => {
      const targets = resourceOf(s, ids.rule).Properties.Targets as Array<Record<string, unknown>>;

      expect(targets).toEqual([{ Id: expect.any(String), Arn: arnOf(ids.fn), RetryPolicy: { MaximumRetryAttempts: 0, MaximumEventAgeInSeconds: 60 } }]);
      s.template.hasResourceProperties('AWS::Lambda::Permission', {
        Action: 'lambda:InvokeFunction',
        FunctionName: arnOf(ids.fn),
        Principal: 'events.amazonaws.com',
        SourceArn: arnOf(ids.rule),
      });
    });

    it('lower-cases and de-duplicates the clusters (RDS stores identifiers in lower case), in the rule and in IAM', () => {
      const config = {
        targets: [
          {
            name: 'a',
            type: 'aurora' as const,
            host: 'a.cluster-x.eu-west-1.rds.amazonaws.com',
            port: 5432,
            engine: 'postgres' as const,
            clusterIdentifier: 'Orders',
          },
          {
            name: 'b',
            type: 'aurora' as const,
            host: 'b.cluster-x.eu-west-1.rds.amazonaws.com',
            port: 5432,
            engine: 'postgres' as const,
            clusterIdentifier: 'orders',
          },
        ],
      };

      const other = synth({ config });

      const rule = other.template.toJSON().Resources[other.stack.getLogicalId(other.stack.failoverWatch!.rule.node.defaultChild as never)] as Resource;
      expect(rule.Properties.EventPattern.resources).toEqual([clusterArn('orders')]);
      const lookups = identityStatements(other.template).filter((st) => st.Sid === 'AuroraWriterLookup');
      expect(lookups.map((st) => st.Resource)).toEqual([clusterArn('orders'), clusterArn('orders')]);
      expect(JSON.stringify(other.template.toJSON())).not.toContain(':cluster:Orders');
    });
  });

  describe('role, exactly', () => {
    it("has exactly these statements: its targets' items, the topic and its key, ipdrift metrics, its logs, the watched clusters", () => {
      const policies = Object.values(s.template.findResources('AWS::IAM::Policy')) as Array<{
        Properties: { Roles: unknown[]; PolicyDocument: { Statement: Statement[] } };
      }>;

      const mine = policies.filter((p) => JSON.stringify(p.Properties.Roles) === JSON.stringify([ref(ids.role)]));

      expect(mine).toHaveLength(1);
      expect(mine[0]!.Properties.PolicyDocument.Statement).toEqual([
        {
          Sid: 'StateTable',
          Effect: 'Allow',
          Action: ['dynamodb:BatchGetItem', 'dynamodb:BatchWriteItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query'],
          Resource: arnOf(ids.table),
          Condition: { 'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': ['target#orders-db', 'target#users-db'] } },
        },
        { Sid: 'AlertTopic', Effect: 'Allow', Action: 'sns:Publish', Resource: [ref(ids.topic), ref(ids.events)] },
        { Sid: 'AlertTopicKey', Effect: 'Allow', Action: ['kms:Decrypt', 'kms:GenerateDataKey*'], Resource: arnOf(ids.key) },
        {
          Sid: 'Metrics',
          Effect: 'Allow',
          Action: 'cloudwatch:PutMetricData',
          Resource: '*',
          Condition: { StringEquals: { 'cloudwatch:namespace': 'ipdrift' } },
        },
        { Sid: 'Logs', Effect: 'Allow', Action: ['logs:CreateLogStream', 'logs:PutLogEvents'], Resource: arnOf(ids.logs) },
        { Sid: 'AuroraWriterLookup', Effect: 'Allow', Action: 'rds:DescribeDBClusters', Resource: [clusterArn('orders'), clusterArn('users', 'us-east-2')] },
      ]);
    });

    it('is assumable by Lambda only and has no managed policy outside a VPC', () => {
      const role = resourceOf(s, ids.role).Properties;

      expect(role.AssumeRolePolicyDocument.Statement).toEqual([{ Effect: 'Allow', Action: 'sts:AssumeRole', Principal: { Service: 'lambda.amazonaws.com' } }]);
      expect(role.ManagedPolicyArns).toBeUndefined();
    });

    it("may use the store's operations the watcher calls and no more (no DeleteItem: it saves alerts as it loaded them)", () => {
      expect(WATCHER_TABLE_ACTIONS.every((a) => (TABLE_ACTIONS as readonly string[]).includes(a))).toBe(true);
      expect(WATCHER_TABLE_ACTIONS).not.toContain('dynamodb:DeleteItem');
    });
  });

  describe('alarms and dashboard', () => {
    it.each([
      ['Errors', 'Sum', 1],
      ['Duration', 'Maximum', 144_000],
    ] as const)("alarms to the topic on the watcher's %s (%s over 5 min) >= %d, missing data not breaching", (metric, statistic, threshold) => {
      s.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        AlarmName: `Ipdrift.failover-watch-${metric}`,
        Namespace: 'AWS/Lambda',
        MetricName: metric,
        Dimensions: [{ Name: 'FunctionName', Value: ref(ids.fn) }],
        Statistic: statistic,
        Period: 300,
        EvaluationPeriods: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        Threshold: threshold,
        TreatMissingData: 'notBreaching',
        AlarmActions: [ref(ids.topic)],
        OKActions: [ref(ids.topic)],
      });
      expect(s.stack.alarms.has(`failover-watch/${metric}`)).toBe(true);
    });

    it('puts the Duration alarm at 80% of the timeout', () => {
      expect(FAILOVER_WATCH_SETTINGS.timeoutSeconds * 1000 * FAILOVER_WATCH_SETTINGS.durationAlarmFraction).toBe(144_000);
    });

    it("draws the watcher's runs and errors, and FailoverSeconds in each Aurora target's row", () => {
      const { widgets } = dashboardBody(s.template);

      const runs = widgets.find((w) => w.properties.title === 'failover watcher: runs');
      const failover = widgets.filter((w) => ((w.properties.metrics ?? []) as unknown[][]).some((m) => m[0] === 'ipdrift' && m[1] === 'FailoverSeconds'));

      expect(runs?.properties.metrics.map((m: unknown[]) => `${m[0]}/${m[1]}`)).toEqual(['AWS/Lambda/Invocations', 'AWS/Lambda/Errors']);
      expect(failover.map((w) => w.properties.title)).toEqual(['orders-db: failover: client outage (s)', 'users-db: failover: client outage (s)']);
      // In the target's row, beside its DNS lag graph.
      const lag = widgets.find((w) => w.properties.title === 'orders-db: DNS lag behind the writer (s)');
      expect(lag?.y).toBe(failover[0]!.y);
    });

    it("exports the watcher's name", () => {
      s.template.hasOutput('FailoverWatchFunctionName', { Value: ref(ids.fn) });
    });
  });

  describe('cdk-nag', () => {
    it('leaves nothing unacknowledged', () => {
      expect(nagViolations(s.stack).map((v) => `${v.ruleName} at ${v.violatingResources.map((r) => r.constructPath).join(', ')}`)).toEqual([]);
    });

    it('acknowledges on the watcher only what the monitor does, for the same reasons', () => {
      const acks = acknowledgments(s.stack).filter((a) => a.path.startsWith('Ipdrift/FailoverWatch/'));

      expect(acks).toEqual([
        { path: 'Ipdrift/FailoverWatch/Role', id: NAG_FINDINGS.putMetricDataWildcard, reason: NAG_REASONS.putMetricDataWildcard },
        { path: 'Ipdrift/FailoverWatch/Role', id: NAG_FINDINGS.dataKeyWildcard, reason: NAG_REASONS.dataKeyWildcard },
        { path: 'Ipdrift/FailoverWatch/Function', id: NAG_FINDINGS.notLatestRuntime, reason: NAG_REASONS.notLatestRuntime },
      ]);
    });
  });
});

describe('failover watcher: the contract with src/lambda/failover-watch.ts', () => {
  it('matches the events the handler samples on', () => {
    expect([...RDS_EVENT_PATTERN.startedEventIds]).toEqual([...RDS_FAILOVER_EVENTS.started]);
  });

  it('gives the handler its whole sampling deadline plus its safety margin, with room to spare', () => {
    expect(FAILOVER_WATCH_SETTINGS.timeoutSeconds * 1000).toBeGreaterThan(FAILOVER_WATCH_DEFAULTS.deadlineMs + FAILOVER_WATCH_DEFAULTS.safetyMarginMs);
  });

  it('graphs the metric names the handler publishes', () => {
    const input = timelineMetricInput('orders-db', { eventAt: 0, dnsLagMs: 1500, outage: { ms: 3000 } } as never);

    expect(input?.MetricData?.map((d) => d.MetricName)).toEqual([FAILOVER_WATCH_METRICS.dnsLagSeconds, FAILOVER_WATCH_METRICS.failoverSeconds]);
  });
});

describe('failover watcher in a VPC', () => {
  let s: Synth;
  beforeAll(() => {
    s = synth({ config: TWO_CLUSTERS_CONFIG, vpc: { vpcId: VPC_IDS.vpcId, subnetIds: [...VPC_IDS.subnetIds] } });
  });

  it("runs in the monitor's subnets with the monitor's security group, with the VPC access policy on its role", () => {
    const id = (c: { node: { defaultChild?: unknown } }) => s.stack.getLogicalId(c.node.defaultChild as never);
    const watcher = resourceOf(s, id(s.stack.failoverWatch!.fn)).Properties;
    const monitor = resourceOf(s, id(s.stack.fn)).Properties;

    expect(watcher.VpcConfig).toEqual(monitor.VpcConfig);
    expect(watcher.VpcConfig.SubnetIds).toEqual([...VPC_IDS.subnetIds]);
    expect(resourceOf(s, id(s.stack.failoverWatch!.role)).Properties.ManagedPolicyArns).toBeUndefined();
  });

  it('passes cdk-nag, acknowledging only the "*" statements (PutMetricData, the ENI actions) with the monitor\'s reason', () => {
    expect(nagViolations(s.stack)).toEqual([]);
    expect(acknowledgments(s.stack).filter((a) => a.path === 'Ipdrift/FailoverWatch/Role')).toEqual([
      { path: 'Ipdrift/FailoverWatch/Role', id: NAG_FINDINGS.putMetricDataWildcard, reason: NAG_REASONS.putMetricDataWildcard },
      { path: 'Ipdrift/FailoverWatch/Role', id: NAG_FINDINGS.dataKeyWildcard, reason: NAG_REASONS.dataKeyWildcard },
    ]);
  });
});

describe('failover watcher with the fan-out', () => {
  it('gets an asset of its own (there is no monitor asset to share) and passes cdk-nag', () => {
    const s = synth({ config: TWO_CLUSTERS_CONFIG, shardSize: 1 });
    const fn = resourceOf(s, s.stack.getLogicalId(s.stack.failoverWatch!.fn.node.defaultChild as never)).Properties;

    const assetDir = join(s.app.outdir, `asset.${(fn.Code.S3Key as string).replace(/\.zip$/, '')}`);

    expect(s.stack.fanOut).toBeDefined();
    expect(fn.Handler).toBe('failover-watch.handler');
    expect(readdirSync(assetDir).sort()).toEqual(['failover-watch.mjs', 'ipdrift.config.json']);
    expect(nagViolations(s.stack)).toEqual([]);
  });
});

describe('no aurora target: no watcher', () => {
  let s: Synth;
  beforeAll(() => {
    s = synth({ config: NO_AURORA_CONFIG });
  });

  it('creates no watcher resource, alarm, output or RDS rule', () => {
    const json = s.template.toJSON() as { Resources: Record<string, { Type: string; Properties?: Record<string, unknown> }>; Outputs: Record<string, unknown> };

    expect(s.stack.failoverWatch).toBeUndefined();
    expect(Object.keys(json.Resources).filter((id) => id.startsWith(FAILOVER_WATCH_ID_PREFIX))).toEqual([]);
    expect(Object.keys(json.Outputs).filter((id) => id.startsWith(FAILOVER_WATCH_ID_PREFIX))).toEqual([]);
    expect(Object.values(json.Resources).filter((r) => r.Type === 'AWS::Events::Rule' && r.Properties?.EventPattern !== undefined)).toEqual([]);
    s.template.resourceCountIs('AWS::Lambda::Function', 1);
    s.template.resourceCountIs('AWS::IAM::Role', 1);
    s.template.resourceCountIs('AWS::Logs::LogGroup', 1);
    expect([...s.stack.alarms.keys()].filter((k) => k.startsWith('failover-watch/'))).toEqual([]);
    expect(
      dashboardBody(s.template).widgets.filter((w) => JSON.stringify(w).includes('FailoverSeconds') || w.properties.title === 'failover watcher: runs'),
    ).toEqual([]);
  });

  it("does not ship failover-watch.mjs in the monitor's asset", () => {
    const code = onlyResource(s.template, 'AWS::Lambda::Function').resource.Properties.Code as { S3Key: string };

    expect(readdirSync(join(s.app.outdir, `asset.${code.S3Key.replace(/\.zip$/, '')}`)).sort()).toEqual(['ipdrift.config.json', 'monitor.mjs']);
  });

  it('passes cdk-nag with no watcher acknowledgement', () => {
    expect(nagViolations(s.stack)).toEqual([]);
    expect(acknowledgments(s.stack).filter((a) => a.path.includes('FailoverWatch'))).toEqual([]);
  });
});

describe('failover watcher bundle', () => {
  it('refuses to synthesize aurora targets when the build has no failover-watch.mjs, saying how to build it', () => {
    const dist = mkdtempSync(join(tmpdir(), 'ipdrift-no-watcher-'));
    writeFileSync(join(dist, 'monitor.mjs'), 'export const handler = async () => ({});\n');

    expect(existsSync(join(stubCodePath(), 'failover-watch.mjs'))).toBe(true);
    expect(() => synth({ config: TWO_CLUSTERS_CONFIG, codePath: dist })).toThrow(BundleNotFoundError);
    expect(() => synth({ config: TWO_CLUSTERS_CONFIG, codePath: dist })).toThrow(/failover-watch\.mjs not found: run `npm run build`/);
  });
});
