/**
 * The Aurora failover watcher (src/lambda/failover-watch.ts), deployed only when the config has
 * aurora targets: an EventBridge rule on the watched clusters' "failover started" events
 * (RDS-EVENT-0072 same AZ, 0073 across AZs) invokes a function that samples the failover for
 * up to two minutes and publishes one timeline (metrics `DnsLagSeconds` and `FailoverSeconds`,
 * one SNS notice, a history item in the state table).
 *
 * RDS delivers its events to the default event bus of the cluster's own region only: a target
 * with a `region` other than the stack's is watched by the monitor every check, but its
 * failovers reach this rule only when the stack is deployed in that region.
 */
import { Duration, Validations } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as eventTargets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { BUNDLE_ENTRIES } from './lambda-bundle.ts';
import { ownLogsStatement, putMetricsStatement, vpcEniStatement } from './statements.ts';
import { TABLE_KEYS } from '../../src/contract.ts';
import type { MetricName } from '../../src/core/report.ts';

/** Fixed shape of the watcher; the design pins these. */
export const FAILOVER_WATCH_SETTINGS = {
  handler: `${BUNDLE_ENTRIES.failoverWatch}.handler`,
  memorySize: 256,
  /**
   * src/lambda/failover-watch.ts samples for up to FAILOVER_WATCH_DEFAULTS.deadlineMs (120 s)
   * and keeps a 15 s margin for publishing and saving; the rest is headroom for cold start and
   * slow API calls. The handler shortens its sampling to fit whatever timeout it is given.
   */
  timeoutSeconds: 180,
  /** A retry would start sampling a failover that is already over: never replay. */
  retryAttempts: 0,
  /** The minimum Lambda and EventBridge allow: a failover event older than this is history. */
  maxEventAgeSeconds: 60,
  /** The Duration alarm fires at this fraction of the timeout: sampling is about to be cut short. */
  durationAlarmFraction: 0.8,
  /** Errors/Duration alarm period: failovers are rare, one bad run is the signal. */
  alarmPeriodMinutes: 5,
} as const;

/** The rule's event pattern parts (src/lambda/failover-watch.ts RDS_FAILOVER_EVENTS.started). */
export const RDS_EVENT_PATTERN = {
  source: 'aws.rds',
  detailType: 'RDS DB Cluster Event',
  /** Failover started: 0072 within the AZ, 0073 across AZs. Completed (0071) would only be ignored. */
  startedEventIds: ['RDS-EVENT-0072', 'RDS-EVENT-0073'],
} as const;

/**
 * Metrics the failover watcher publishes per target (src/adapters/aws/timeline-metrics.ts),
 * named in the engine's metric table (src/core/report.ts METRICS).
 */
export const FAILOVER_WATCH_METRICS = {
  /** The outage a client saw: event -> first successful probe of the new writer. */
  failoverSeconds: 'FailoverSeconds',
  /** API writer change -> DNS change; the same series (and alarm) as the monitor's. */
  dnsLagSeconds: 'DnsLagSeconds',
} as const satisfies Record<string, MetricName>;

/**
 * DynamoDB actions the watcher's store calls need (src/adapters/aws/dynamo-store.ts): BatchGetItem,
 * GetItem and Query to load the targets' state and alerts, PutItem for the transaction that saves the
 * writer state and the history item (TransactWriteItems is authorised per operation),
 * BatchWriteItem for history that does not fit the transaction. No DeleteItem: the watcher
 * saves the alerts exactly as it loaded them, so the store never deletes one.
 */
export const WATCHER_TABLE_ACTIONS = ['dynamodb:BatchGetItem', 'dynamodb:BatchWriteItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query'] as const;

/** What the watcher is built from: the monitor's resources and settings. */
export interface FailoverWatchProps {
  /** The monitor's asset (with `failover-watch.mjs` in it) or one of its own. */
  readonly code: lambda.Code;
  readonly runtime: lambda.Runtime;
  readonly architecture: lambda.Architecture;
  /** The monitor's environment: config file, table, topic, NODE_OPTIONS. */
  readonly environment: Readonly<Record<string, string>>;
  readonly vpcProps: Pick<lambda.FunctionProps, 'vpc' | 'vpcSubnets' | 'securityGroups'>;
  readonly table: dynamodb.ITable;
  /** The on-call and events topics (a timeline is an event; the audience picks the topic). */
  readonly topics: readonly sns.ITopic[];
  readonly topicKey: kms.IKey;
  readonly topicKeyActions: readonly string[];
  /** The watched clusters' identifiers, as in the config. */
  readonly clusterIdentifiers: readonly string[];
  /** ARNs of the watched clusters (the monitor's `rds:DescribeDBClusters` resources). */
  readonly clusterArns: readonly string[];
  /** Names of the aurora targets: the only partitions the watcher may touch. */
  readonly targetNames: readonly string[];
  readonly logRetention: logs.RetentionDays;
  /** cdk-nag finding ids and reasons the monitor's role and function get too. */
  readonly nag: {
    readonly putMetricDataWildcard: { id: string; reason: string };
    readonly dataKeyWildcard: { id: string; reason: string };
    readonly notLatestRuntime: { id: string; reason: string };
  };
}

/** The watcher's function, role, log group and rule. */
export class FailoverWatch extends Construct {
  readonly fn: lambda.Function;
  readonly role: iam.Role;
  readonly logGroup: logs.LogGroup;
  readonly rule: events.Rule;
  readonly timeout: Duration;

  constructor(scope: Construct, id: string, props: FailoverWatchProps) {
    super(scope, id);
    if (props.clusterIdentifiers.length === 0) throw new Error('FailoverWatch: no cluster to watch');
    this.timeout = Duration.seconds(FAILOVER_WATCH_SETTINGS.timeoutSeconds);

    this.logGroup = new logs.LogGroup(this, 'Logs', { retention: props.logRetention });
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: "ipdrift failover watcher: the aurora targets' state items, alert topic, ipdrift metrics, the watched clusters, its own logs",
    });
    for (const statement of this.statements(props)) this.role.addToPrincipalPolicy(statement);
    // Lambda creates and deletes the function's ENIs with the execution role (inline, see statements.ts).
    if (props.vpcProps.vpc) this.role.addToPrincipalPolicy(vpcEniStatement());

    // No reserved concurrency: two clusters can fail over at once, each needs its own sampler.
    this.fn = new lambda.Function(this, 'Function', {
      description: 'ipdrift: samples an Aurora failover (RDS event 0072/0073) into one timeline: DNS lag, client outage',
      runtime: props.runtime,
      architecture: props.architecture,
      handler: FAILOVER_WATCH_SETTINGS.handler,
      code: props.code,
      memorySize: FAILOVER_WATCH_SETTINGS.memorySize,
      timeout: this.timeout,
      role: this.role,
      logGroup: this.logGroup,
      environment: { ...props.environment },
      retryAttempts: FAILOVER_WATCH_SETTINGS.retryAttempts,
      maxEventAge: Duration.seconds(FAILOVER_WATCH_SETTINGS.maxEventAgeSeconds),
      ...props.vpcProps,
    });

    // Matched on the event's `resources` (the cluster ARN, lower case as RDS stores it), not on
    // detail.SourceIdentifier: AWS's documented sample has "rds:my-db-cluster" there while events
    // seen in accounts carry the bare name. The handler checks the cluster again itself.
    this.rule = new events.Rule(this, 'Rule', {
      description: 'ipdrift: an Aurora failover started on a watched cluster',
      eventPattern: {
        source: [RDS_EVENT_PATTERN.source],
        detailType: [RDS_EVENT_PATTERN.detailType],
        resources: [...new Set(props.clusterArns)],
        detail: { EventID: [...RDS_EVENT_PATTERN.startedEventIds] },
      },
      targets: [
        new eventTargets.LambdaFunction(this.fn, {
          retryAttempts: FAILOVER_WATCH_SETTINGS.retryAttempts,
          maxEventAge: Duration.seconds(FAILOVER_WATCH_SETTINGS.maxEventAgeSeconds),
        }),
      ],
    });

    Validations.of(this.role).acknowledge(props.nag.putMetricDataWildcard, props.nag.dataKeyWildcard);
    Validations.of(this.fn).acknowledge(props.nag.notLatestRuntime);
  }

  /** Each statement scoped to the one resource (and, for the table, the partitions) it needs. */
  private statements(props: FailoverWatchProps): iam.PolicyStatement[] {
    const partitions = [...new Set(props.targetNames)].map((name) => `${TABLE_KEYS.targetPrefix}${name}`);
    return [
      new iam.PolicyStatement({
        sid: 'StateTable',
        actions: [...WATCHER_TABLE_ACTIONS],
        resources: [props.table.tableArn],
        // Only the aurora targets' items: the watcher can never touch another target's state.
        conditions: { 'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': partitions } },
      }),
      new iam.PolicyStatement({ sid: 'AlertTopic', actions: ['sns:Publish'], resources: props.topics.map((t) => t.topicArn) }),
      new iam.PolicyStatement({ sid: 'AlertTopicKey', actions: [...props.topicKeyActions], resources: [props.topicKey.keyArn] }),
      putMetricsStatement(),
      ownLogsStatement(this.logGroup),
      new iam.PolicyStatement({ sid: 'AuroraWriterLookup', actions: ['rds:DescribeDBClusters'], resources: [...props.clusterArns] }),
    ];
  }
}
