/**
 * The ipdrift monitor on AWS: a scheduled Lambda that runs one check of every target per
 * minute, its DynamoDB state table, the on-call SNS topic (KMS), alarms and a dashboard.
 * Past `shardSize` targets the check fans out (lib/fan-out.ts): a Step Functions execution per
 * tick, a worker per shard. Layout and contracts: docs/architecture.md, "Deployment".
 */
import { ArnFormat, CfnOutput, Duration, Fn, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import type { StackProps } from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as events from 'aws-cdk-lib/aws-events';
import * as eventTargets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type { Construct } from 'constructs';
import { parseConfig, parseResolver } from '../../src/core/config.ts';
import type { Config, ConfigInput } from '../../src/core/config.ts';
import { SHARD_DEFAULTS, planShards } from '../../src/core/shard.ts';
import type { ShardPlan } from '../../src/core/shard.ts';
import { FailoverWatch } from './failover-watch.ts';
import { FanOut } from './fan-out.ts';
import { BUNDLE_ENTRIES, BUNDLE_FILES, LAMBDA_TASK_ROOT, stageLambdaBundle } from './lambda-bundle.ts';
import { ownLogsStatement, putMetricsStatement, vpcEniStatement } from './statements.ts';
import { VpcRequiredError, targetsNeedingVpc } from './network.ts';
import { ENDPOINT_URL_ENV, interfaceEndpointsFor } from '../../src/planning/vpc-endpoints.ts';
import type { EndpointService } from '../../src/planning/vpc-endpoints.ts';
import { logGroupRef } from '../../src/core/arn.ts';
import { createAlarms } from './alarms.ts';
import { createDashboard } from './dashboard.ts';
import { ENV, TABLE_KEYS } from '../../src/contract.ts';

// The stack's fixed settings, limits and IAM/nag tables live in settings.ts (re-exported for its users).
export * from './settings.ts';
import {
  CDK_WARNINGS,
  EGRESS,
  ELB_ENI_EVENT_PATTERN,
  FUNCTION_SETTINGS,
  MONITOR_DEFAULTS,
  NAG_FINDINGS,
  NAG_REASONS,
  SCHEDULE_LIMITS,
  TABLE_ACTIONS,
  TOPIC_KEY_CLOUDWATCH_ACTIONS,
  TOPIC_KEY_PENDING_WINDOW_DAYS,
  TOPIC_KEY_PUBLISHER_ACTIONS,
} from './settings.ts';

/** An existing VPC to run the function in; nothing is looked up, so synth stays offline. */
export interface MonitorVpcOptions {
  readonly vpcId: string;
  /** Private subnets (with a route to the AWS APIs: NAT gateway or VPC endpoints). */
  readonly subnetIds: readonly string[];
  /**
   * The subnets' availability zones, in the same order; with `createEndpoints` and more than one
   * subnet, required: an interface endpoint takes at most one subnet per AZ.
   */
  readonly availabilityZones?: readonly string[];
  /**
   * An existing security group that may reach the targets' ports. When absent, the stack
   * creates one whose egress is limited to the targets' ports, DNS and HTTPS.
   */
  readonly securityGroupId?: string;
  /**
   * Create the VPC endpoints the functions need instead of relying on a NAT gateway: a DynamoDB
   * gateway endpoint on `routeTableIds`, interface endpoints for SNS, CloudWatch metrics and
   * (with Aurora targets) RDS in one subnet per AZ, admitting the function's group on 443, with
   * private DNS off (planning/vpc-endpoints.ts ENDPOINT_URL_ENV says why and how the functions reach them).
   */
  readonly createEndpoints?: boolean;
  /** Services whose endpoint the VPC already has (with private DNS, or a route): not created. */
  readonly existingEndpoints?: readonly EndpointService[];
  /** The private subnets' route tables (for the DynamoDB gateway endpoint); required with createEndpoints. */
  readonly routeTableIds?: readonly string[];
}

/** Endpoints subscribed to a topic at deploy time (more can be added to the topic later). */
export interface AlarmSubscriptions {
  readonly email?: string;
  /** An HTTPS endpoint (e.g. an incident tool's SNS webhook); must confirm the subscription. */
  readonly httpsUrl?: string;
}

/** Props of {@link MonitorStack}. */
export interface MonitorStackProps extends StackProps {
  /** The ipdrift configuration, as written; validated here and bundled verbatim. */
  readonly config: ConfigInput;
  /** Run in an existing VPC (private subnets + security group); default: no VPC. */
  readonly vpc?: MonitorVpcOptions;
  /**
   * Run outside any VPC although some targets look private (lib/network.ts): only when they
   * really are reachable from the internet. Without it, synth refuses such a config with no VPC.
   */
  readonly outsideVpc?: boolean;
  /** Subscribed to the on-call topic: pages (warning and critical alerts, the monitor's own alarms). */
  readonly alarmSubscriptions?: AlarmSubscriptions;
  /** Subscribed to the events topic: information for reading later (address and writer changes, failover timelines). */
  readonly eventSubscriptions?: AlarmSubscriptions;
  /**
   * Reserve concurrency: 1 for the monitor, one per shard for the fan-out's workers. Default
   * off: reserving fails on accounts whose concurrency quota is small (new accounts: 10 or 50),
   * and the state's optimistic locking makes overlapping checks safe without it.
   */
  readonly reserveConcurrency?: boolean;
  /**
   * Check at once when an ELB creates or deletes a network interface: an EventBridge rule on
   * the ELB service-linked role's CloudTrail management events. Needs a trail recording
   * management events in the account and region. Default off.
   */
  readonly elbEniEvents?: boolean;
  /** Default 256 MB. */
  readonly memorySize?: number;
  /**
   * Interval between checks, whole minutes from 1 to 60; default 1 minute (`rate(1 minute)`).
   * A Duration, not a cron expression: the alarms' periods are derived from it.
   */
  readonly schedule?: Duration;
  /** Default 55 s (under the schedule's minute). */
  readonly functionTimeout?: Duration;
  /** Directory holding the esbuild output `monitor.mjs`; default `dist`. */
  readonly codePath?: string;
  /** Default one month. */
  readonly logRetention?: logs.RetentionDays;
  /**
   * Targets one invocation checks. Up to this many, one function checks them all; past it, the
   * check fans out over a Step Functions execution with one worker per shard (lib/fan-out.ts).
   * Default: core/shard.ts SHARD_DEFAULTS.targetsPerInvocation (from the benchmark).
   */
  readonly shardSize?: number;
}

/**
 * The ipdrift monitor stack. Public members expose the resources so tests and callers can
 * reference them without digging through the construct tree.
 */
export class MonitorStack extends Stack {
  /** The validated configuration (defaults applied). */
  readonly config: Config;
  readonly table: dynamodb.Table;
  readonly topicKey: kms.Key;
  /** The on-call topic: one message per alert transition of a warning or critical, and the monitor's own alarms. */
  readonly topic: sns.Topic;
  /** The events topic: information, never a page (README, "Who gets what"). */
  readonly eventsTopic: sns.Topic;
  readonly logGroup: logs.LogGroup;
  readonly role: iam.Role;
  /** The function that checks targets: the monitor, or the fan-out's worker. */
  readonly fn: lambda.Function;
  /** How the targets split at synth (one shard: no fan-out); the scheduler splits again each tick. */
  readonly shardPlan: ShardPlan;
  /** The scheduler, workers and workflow, when the targets are more than one invocation checks. */
  readonly fanOut?: FanOut;
  /** The Aurora failover watcher (function, role, RDS event rule), when the config has aurora targets. */
  readonly failoverWatch?: FailoverWatch;
  readonly schedule: events.Rule;
  /** The rule on ELB network-interface changes (with `elbEniEvents`). */
  readonly elbEniRule?: events.Rule;
  readonly dashboard: cloudwatch.Dashboard;
  /** Every alarm, by a stable key (`<target>/<metric>` or `function/<metric>`). */
  readonly alarms: ReadonlyMap<string, cloudwatch.Alarm>;
  /**
   * Name prefix of every alarm: the stack name and a ".", which no stack name contains, so one
   * stack's prefix is never the start of another's (`Ipdrift.` vs `Ipdrift-prod.`); the topic
   * policy admits this stack's alarms by it and no other stack's.
   */
  readonly alarmNamePrefix: string;
  /** Time between two checks (the schedule's rate). */
  readonly checkInterval: Duration;
  /** The security group the function uses, when it runs in a VPC. */
  readonly securityGroup?: ec2.ISecurityGroup;

  constructor(scope: Construct, id: string, props: MonitorStackProps) {
    super(scope, id, props);
    // Fail the synth, not the first check at 3 a.m., on a bad config.
    this.config = parseConfig(props.config, 'MonitorStack config');
    if (!props.vpc && !props.outsideVpc) {
      const needing = targetsNeedingVpc(this.config);
      if (needing.length > 0) throw new VpcRequiredError(needing);
    }
    const timeout = props.functionTimeout ?? Duration.seconds(MONITOR_DEFAULTS.functionTimeoutSeconds);
    const interval = props.schedule ?? Duration.minutes(MONITOR_DEFAULTS.scheduleMinutes);
    checkSchedule(interval, timeout);
    this.checkInterval = interval;
    this.alarmNamePrefix = `${this.stackName}${ALARM_NAME_SEPARATOR}`;

    this.table = new dynamodb.Table(this, 'StateTable', {
      partitionKey: { name: TABLE_KEYS.partitionKey, type: dynamodb.AttributeType.STRING },
      sortKey: { name: TABLE_KEYS.sortKey, type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      timeToLiveAttribute: TABLE_KEYS.ttlAttribute,
      // AWS managed key: encrypted with KMS, auditable in CloudTrail, no key to pay for or
      // grant on (the aws/dynamodb key admits the account's principals via DynamoDB).
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
    });

    this.topicKey = new kms.Key(this, 'TopicKey', {
      description: `ipdrift ${this.stackName}: encrypts the on-call and events SNS topics`,
      enableKeyRotation: true,
      // SNS keeps no messages, so the key protects nothing once the topic is gone: delete it
      // with the stack (after KMS's waiting period) rather than pay $1/month for an orphan.
      removalPolicy: RemovalPolicy.DESTROY,
      pendingWindow: Duration.days(TOPIC_KEY_PENDING_WINDOW_DAYS),
    });
    // CloudWatch calls KMS itself when an alarm publishes to an encrypted topic; the
    // account-root statement does not cover service principals. No condition keys: the
    // documented form; which alarms may publish at all is gated by the topic policy below.
    this.topicKey.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowCloudWatchAlarmsToUseTheKey',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: [...TOPIC_KEY_CLOUDWATCH_ACTIONS],
        resources: ['*'],
      }),
    );

    this.topic = new sns.Topic(this, 'AlertTopic', {
      displayName: 'ipdrift alerts',
      masterKey: this.topicKey,
      enforceSSL: true,
    });
    // enforceSSL creates an explicit topic policy, which replaces SNS's default one: without
    // this statement CloudWatch alarms could no longer publish. Only this stack's alarms.
    this.topic.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowThisStacksAlarmsToPublish',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [this.topic.topicArn],
        conditions: {
          StringEquals: { 'aws:SourceAccount': this.account },
          ArnLike: {
            'aws:SourceArn': this.formatArn({
              service: 'cloudwatch',
              resource: 'alarm',
              resourceName: `${this.alarmNamePrefix}*`,
              arnFormat: ArnFormat.COLON_RESOURCE_NAME,
            }),
          },
        },
      }),
    );
    // Information goes to a topic of its own rather than the on-call one with a filter policy:
    // a subscription added by hand to the on-call topic then gets only pages, filter or not.
    this.eventsTopic = new sns.Topic(this, 'EventsTopic', {
      displayName: 'ipdrift events',
      masterKey: this.topicKey,
      enforceSSL: true,
    });
    subscribe(this.topic, props.alarmSubscriptions);
    subscribe(this.eventsTopic, props.eventSubscriptions);

    this.logGroup = new logs.LogGroup(this, 'FunctionLogs', {
      retention: props.logRetention ?? MONITOR_DEFAULTS.logRetention,
    });

    this.role = new iam.Role(this, 'FunctionRole', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: 'ipdrift monitor: state table, alert topic, ipdrift metrics, its own logs',
    });
    for (const statement of this.functionStatements()) this.role.addToPrincipalPolicy(statement);

    let vpcProps: Pick<lambda.FunctionProps, 'vpc' | 'vpcSubnets' | 'securityGroups'> = {};
    // The functions' SDK clients pointed at the endpoints this stack creates (none: the defaults).
    let endpointEnv: Record<string, string> = {};
    if (props.vpc) {
      const { vpc, subnets, securityGroup } = this.importVpc(props.vpc);
      this.securityGroup = securityGroup;
      vpcProps = { vpc, vpcSubnets: { subnets }, securityGroups: [securityGroup] };
      if (props.vpc.createEndpoints) endpointEnv = this.createEndpoints(vpc, this.endpointSubnets(props.vpc, subnets), securityGroup, props.vpc);
      new CfnOutput(this, 'MonitorSecurityGroupId', {
        value: securityGroup.securityGroupId,
        description: "The monitor's security group: each target's security group must admit it on the target's port",
      });
      new CfnOutput(this, 'AdmitMonitorCommands', {
        value: admitCommands(securityGroup.securityGroupId, this.config),
        description: 'Run once per target security group (replace TARGET_SG): lets the monitor reach the targets',
      });
      // Lambda creates and deletes the function's ENIs with the execution role: those actions
      // only, inline (the managed VPC policy would also grant logs on every group).
      this.role.addToPrincipalPolicy(vpcEniStatement());
    }

    const shardSize = props.shardSize ?? SHARD_DEFAULTS.targetsPerInvocation;
    this.shardPlan = planShards(this.config.targets, shardSize);
    const configJson = `${JSON.stringify(props.config, null, 2)}\n`;
    const codePath = props.codePath ?? MONITOR_DEFAULTS.codePath;
    const checker = {
      runtime: FUNCTION_SETTINGS.runtime,
      architecture: FUNCTION_SETTINGS.architecture,
      memorySize: props.memorySize ?? MONITOR_DEFAULTS.memorySize,
      timeout,
      role: this.role,
      logGroup: this.logGroup,
      environment: {
        [ENV.configFile]: `${LAMBDA_TASK_ROOT}/${BUNDLE_FILES.config}`,
        [ENV.table]: this.table.tableName,
        [ENV.topicArn]: this.topic.topicArn,
        [ENV.eventsTopicArn]: this.eventsTopic.topicArn,
        NODE_OPTIONS: '--enable-source-maps',
        ...endpointEnv,
      },
      ...vpcProps,
    } satisfies Partial<lambda.FunctionProps>;

    const auroraTargets = this.config.targets.filter((t) => t.type === 'aurora');
    // Without fan-out the watcher ships in the monitor's asset (one upload); with it, in its own.
    let watcherCode: lambda.Code | undefined;
    let target: events.IRuleTarget;
    // The ELB interface rule's target: the monitor itself, or the fan-out with the call's record.
    let eniTarget: events.IRuleTarget | undefined;
    if (this.shardPlan.shards.length > 1) {
      this.fanOut = new FanOut(this, 'FanOut', {
        shards: this.shardPlan.shards.length,
        shardSize,
        interval,
        configJson,
        codePath,
        table: this.table,
        worker: checker,
        logRetention: props.logRetention ?? MONITOR_DEFAULTS.logRetention,
        ...(props.reserveConcurrency ? { reserveConcurrency: true } : {}),
        ...(props.elbEniEvents ? { interfaceLedger: true } : {}),
      });
      this.fn = this.fanOut.worker;
      target = this.fanOut.scheduleTarget();
      eniTarget = this.fanOut.scheduleTarget({ withDetail: true });
      if (auroraTargets.length > 0) watcherCode = lambda.Code.fromAsset(stageLambdaBundle(codePath, configJson, BUNDLE_ENTRIES.failoverWatch));
    } else {
      const code = lambda.Code.fromAsset(
        stageLambdaBundle(codePath, configJson, BUNDLE_ENTRIES.monitor, auroraTargets.length > 0 ? [BUNDLE_ENTRIES.failoverWatch] : []),
      );
      if (auroraTargets.length > 0) watcherCode = code;
      this.fn = new lambda.Function(this, 'MonitorFunction', {
        ...checker,
        description: 'ipdrift: one check of every target (resolve, diff, probe, assess, alert)',
        handler: FUNCTION_SETTINGS.handler,
        code,
        ...(props.reserveConcurrency ? { reservedConcurrentExecutions: FUNCTION_SETTINGS.reservedConcurrency } : {}),
        retryAttempts: FUNCTION_SETTINGS.retryAttempts,
        maxEventAge: Duration.seconds(FUNCTION_SETTINGS.maxEventAgeSeconds),
      });
      target = new eventTargets.LambdaFunction(this.fn);
    }

    this.schedule = new events.Rule(this, 'Schedule', {
      description: 'ipdrift: run one check',
      schedule: events.Schedule.rate(interval),
      targets: [target],
    });
    if (props.elbEniEvents) {
      // AWS's own suggestion for "my ALB's addresses changed": the ELB service-linked role's
      // CreateNetworkInterface / DeleteNetworkInterface calls, as CloudTrail delivers them to
      // EventBridge. A check right away instead of at the next minute (overlaps are safe), and
      // the interface's addresses recorded: a deleted interface's are released for good.
      this.elbEniRule = new events.Rule(this, 'ElbNetworkInterfaceChange', {
        description: 'ipdrift: an ELB created or deleted a network interface (CloudTrail): record it, check now',
        eventPattern: ELB_ENI_EVENT_PATTERN,
        targets: [eniTarget ?? target],
      });
    }

    if (watcherCode) {
      this.failoverWatch = new FailoverWatch(this, 'FailoverWatch', {
        code: watcherCode,
        runtime: FUNCTION_SETTINGS.runtime,
        architecture: FUNCTION_SETTINGS.architecture,
        environment: checker.environment,
        vpcProps,
        table: this.table,
        topics: [this.topic, this.eventsTopic],
        topicKey: this.topicKey,
        topicKeyActions: TOPIC_KEY_PUBLISHER_ACTIONS,
        clusterIdentifiers: auroraTargets.map((t) => t.clusterIdentifier),
        clusterArns: this.auroraClusterArns(),
        targetNames: auroraTargets.map((t) => t.name),
        logRetention: props.logRetention ?? MONITOR_DEFAULTS.logRetention,
        nag: {
          putMetricDataWildcard: { id: NAG_FINDINGS.putMetricDataWildcard, reason: NAG_REASONS.putMetricDataWildcard },
          dataKeyWildcard: { id: NAG_FINDINGS.dataKeyWildcard, reason: NAG_REASONS.dataKeyWildcard },
          notLatestRuntime: { id: NAG_FINDINGS.notLatestRuntime, reason: NAG_REASONS.notLatestRuntime },
        },
      });
    }

    this.alarms = createAlarms(this, timeout, interval);
    this.dashboard = createDashboard(this);
    this.acknowledgeNagFindings();

    new CfnOutput(this, 'FunctionName', {
      value: this.fn.functionName,
      description: this.fanOut ? 'The worker function (one shard per invocation)' : 'The monitor function (invoke it to run a check now)',
    });
    if (this.fanOut)
      new CfnOutput(this, 'StateMachineArn', {
        value: this.fanOut.stateMachine.stateMachineArn,
        description: 'One execution per check: start one to run a check now',
      });
    new CfnOutput(this, 'TableName', { value: this.table.tableName, description: 'State table (IPDRIFT_TABLE for `ipdrift history`)' });
    new CfnOutput(this, 'TopicArn', { value: this.topic.topicArn, description: 'On-call topic (pages): subscribe the pager here' });
    new CfnOutput(this, 'EventsTopicArn', {
      value: this.eventsTopic.topicArn,
      description: 'Events topic (information, never a page): subscribe a mailbox or chat channel here',
    });
    new CfnOutput(this, 'LogGroupName', { value: this.logGroup.logGroupName, description: 'One JSON line per check' });
    if (this.failoverWatch)
      new CfnOutput(this, 'FailoverWatchFunctionName', {
        value: this.failoverWatch.fn.functionName,
        description: 'Samples an Aurora failover when RDS reports one (its log has the timeline)',
      });
    new CfnOutput(this, 'DashboardName', { value: this.dashboard.dashboardName, description: 'CloudWatch dashboard, a row per target' });
  }

  /** The function's permissions: each scoped to the one resource it needs. */
  private functionStatements(): iam.PolicyStatement[] {
    const statements = [
      new iam.PolicyStatement({ sid: 'StateTable', actions: [...TABLE_ACTIONS], resources: [this.table.tableArn] }),
      new iam.PolicyStatement({ sid: 'AlertTopic', actions: ['sns:Publish'], resources: [this.topic.topicArn, this.eventsTopic.topicArn] }),
      new iam.PolicyStatement({ sid: 'AlertTopicKey', actions: [...TOPIC_KEY_PUBLISHER_ACTIONS], resources: [this.topicKey.keyArn] }),
      putMetricsStatement(),
      ownLogsStatement(this.logGroup),
    ];
    const arns = this.auroraClusterArns();
    if (arns.length > 0) statements.push(new iam.PolicyStatement({ sid: 'AuroraWriterLookup', actions: ['rds:DescribeDBClusters'], resources: arns }));
    // The session check's secrets, each by its ARN (a secret under its own KMS key also needs kms:Decrypt there: README).
    const secrets = [...new Set(this.config.targets.flatMap((t) => (t.type === 'aurora' && t.login?.secretArn ? [t.login.secretArn] : [])))];
    if (secrets.length > 0)
      statements.push(new iam.PolicyStatement({ sid: 'AuroraLoginSecrets', actions: ['secretsmanager:GetSecretValue'], resources: secrets }));
    // Flow and resolver evidence: Logs Insights queries of those log groups only (each group's ARN and its streams).
    const groups = this.queriedLogGroups();
    if (groups.flow)
      statements.push(new iam.PolicyStatement({ sid: 'FlowLogsQuery', actions: ['logs:StartQuery'], resources: this.logGroupArns(groups.flow) }));
    if (groups.resolver)
      statements.push(new iam.PolicyStatement({ sid: 'ResolverLogsQuery', actions: ['logs:StartQuery'], resources: this.logGroupArns(groups.resolver) }));
    // GetQueryResults is authorized on the queried log group (the Service Authorization Reference
    // lists log-group for it, required); StopQuery (of a query the deadline cut) lists no resource
    // type, so only "*" can grant it.
    const queried = [groups.flow, groups.resolver].flatMap((g) => (g ? this.logGroupArns(g) : []));
    if (queried.length > 0) {
      statements.push(new iam.PolicyStatement({ sid: 'LogsQueryResults', actions: ['logs:GetQueryResults'], resources: [...new Set(queried)] }));
      statements.push(new iam.PolicyStatement({ sid: 'LogsStopQuery', actions: ['logs:StopQuery'], resources: ['*'] }));
    }
    return statements;
  }

  /** The log groups the monitor queries with Logs Insights: the config's CloudWatch flow and resolver logs. */
  private queriedLogGroups(): { flow?: string; resolver?: string } {
    const flow = this.config.flowLogs;
    const resolver = this.config.resolverLogs;
    return { ...(flow?.source === 'cloudwatch' ? { flow: flow.logGroup } : {}), ...(resolver?.source === 'cloudwatch' ? { resolver: resolver.logGroup } : {}) };
  }

  /**
   * A log group's ARN and its streams' (`:*`), the form IAM documents for CloudWatch Logs actions:
   * the ARN the config gives (another account's), else the group's in the stack's account and region.
   */
  private logGroupArns(spec: string): string[] {
    const ref = logGroupRef(spec);
    const group =
      ref?.arn ?? this.formatArn({ service: 'logs', resource: 'log-group', resourceName: ref?.name ?? spec, arnFormat: ArnFormat.COLON_RESOURCE_NAME });
    return [group, `${group}:*`];
  }

  /** ARNs of the aurora targets' clusters (each in its target's region, else the stack's); none without aurora targets. */
  private auroraClusterArns(): string[] {
    const clusters = this.config.targets.filter((t) => t.type === 'aurora');
    return [
      ...new Set(
        clusters.map((t) =>
          this.formatArn({
            service: 'rds',
            resource: 'cluster',
            // RDS stores identifiers in lower case: `Orders` in the config is cluster:orders in IAM.
            resourceName: t.clusterIdentifier.toLowerCase(),
            arnFormat: ArnFormat.COLON_RESOURCE_NAME,
            ...(t.region !== undefined ? { region: t.region } : {}),
          }),
        ),
      ),
    ];
  }

  /**
   * The VPC endpoints the functions need (planning/vpc-endpoints.ts) that the VPC does not already
   * have: the DynamoDB gateway on the route tables, and interface endpoints in one subnet per AZ,
   * behind a group that admits the function's group on 443 only. Private DNS is off: on, it would
   * send every workload in the VPC that calls these services to endpoints that admit only the
   * monitor (and fail to deploy beside an endpoint that already has it). Returns the SDK's
   * endpoint variables that point the functions at each one's own DNS name.
   */
  private createEndpoints(vpc: ec2.IVpc, subnets: ec2.ISubnet[], fnGroup: ec2.ISecurityGroup, opts: MonitorVpcOptions): Record<string, string> {
    const existing = new Set(opts.existingEndpoints ?? []);
    const routeTableIds = opts.routeTableIds ?? [];
    if (!existing.has('dynamodb')) {
      if (routeTableIds.length === 0)
        throw new Error(
          "vpc.createEndpoints (-c endpoints=create) needs routeTableIds (-c routeTableIds=rtb-a,rtb-b): the private subnets' route tables, for the DynamoDB gateway endpoint (or -c existingEndpoints=dynamodb when the VPC has one)",
        );
      new ec2.CfnVPCEndpoint(this, 'DynamoDbEndpoint', {
        vpcId: vpc.vpcId,
        serviceName: `com.amazonaws.${this.region}.dynamodb`,
        vpcEndpointType: 'Gateway',
        routeTableIds: [...routeTableIds],
      });
    }
    const services = interfaceEndpointsFor(this.config).filter((service) => !existing.has(service));
    if (services.length === 0) return {};
    const endpointGroup = new ec2.SecurityGroup(this, 'EndpointSecurityGroup', {
      vpc,
      description: 'ipdrift VPC endpoints: HTTPS from the monitor only',
      allowAllOutbound: false,
    });
    endpointGroup.addIngressRule(ec2.Peer.securityGroupId(fnGroup.securityGroupId), ec2.Port.tcp(EGRESS.https), 'ipdrift monitor to the AWS APIs');
    const env: Record<string, string> = {};
    for (const service of services) {
      const endpoint = new ec2.InterfaceVpcEndpoint(this, `Endpoint-${service}`, {
        vpc,
        service: new ec2.InterfaceVpcEndpointAwsService(service),
        subnets: { subnets },
        securityGroups: [endpointGroup],
        privateDnsEnabled: false,
        open: false,
      });
      // DnsEntries' first is the regional name, "<hosted zone id>:vpce-...<service>.<region>.vpce.amazonaws.com".
      env[ENDPOINT_URL_ENV[service]] = `https://${Fn.select(1, Fn.split(':', Fn.select(0, endpoint.vpcEndpointDnsEntries)))}`;
    }
    return env;
  }

  /** The first of the function's subnets in each AZ: an interface endpoint takes one subnet per AZ. */
  private endpointSubnets(opts: MonitorVpcOptions, subnets: ec2.ISubnet[]): ec2.ISubnet[] {
    const azs = opts.availabilityZones;
    if (!azs) {
      if (subnets.length === 1) return subnets;
      throw new Error(
        `vpc.createEndpoints (-c endpoints=create) with ${subnets.length} subnets needs their availabilityZones (-c availabilityZones=az-a,az-b, one per subnet): an interface endpoint takes one subnet per AZ`,
      );
    }
    return subnets.filter((_, i) => azs.indexOf(azs[i]!) === i);
  }

  /** Imports the VPC, subnets and security group by id: no context lookup, no AWS call. */
  private importVpc(opts: MonitorVpcOptions): { vpc: ec2.IVpc; subnets: ec2.ISubnet[]; securityGroup: ec2.ISecurityGroup } {
    if (opts.subnetIds.length === 0) throw new Error('vpc.subnetIds: at least one private subnet id is required with a VPC');
    const azs = opts.availabilityZones;
    if (azs !== undefined && azs.length !== opts.subnetIds.length) {
      throw new Error(`vpc.availabilityZones: expected one per subnet (${opts.subnetIds.length}), got ${azs.length}`);
    }
    // The subnets are passed explicitly, so the VPC's AZ list is never used to pick any; it
    // must merely be non-empty. Without the AZs we defer to the region's ({"Fn::GetAZs": ""}).
    const vpc = ec2.Vpc.fromVpcAttributes(this, 'Vpc', { vpcId: opts.vpcId, availabilityZones: azs ? [...new Set(azs)] : Fn.getAzs() });
    if (!azs) {
      Validations.of(vpc).acknowledge({
        id: CDK_WARNINGS.vpcAzListToken,
        reason: "The function gets its subnets explicitly; nothing selects subnets from this VPC's AZ list, so a deploy-time list is fine.",
      });
    }
    const subnets = opts.subnetIds.map((subnetId, i) => {
      const az = azs?.[i];
      const subnet =
        az === undefined
          ? ec2.Subnet.fromSubnetId(this, `Subnet${i}`, subnetId)
          : ec2.Subnet.fromSubnetAttributes(this, `Subnet${i}`, { subnetId, availabilityZone: az });
      Validations.of(subnet).acknowledge({
        id: CDK_WARNINGS.subnetNoRouteTable,
        reason: "Only the subnet id is used (the function's VpcConfig); nothing here reads its route table.",
      });
      return subnet;
    });
    if (opts.securityGroupId !== undefined) {
      // Someone else's group: never add rules to it.
      return { vpc, subnets, securityGroup: ec2.SecurityGroup.fromSecurityGroupId(this, 'SecurityGroup', opts.securityGroupId, { mutable: false }) };
    }
    const sg = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc,
      description: 'ipdrift monitor: egress to the targets ports, DNS and HTTPS (AWS APIs); no ingress',
      allowAllOutbound: false,
    });
    for (const { protocol, port } of egressPorts(this.config)) {
      const p = protocol === 'udp' ? ec2.Port.udp(port) : ec2.Port.tcp(port);
      sg.addEgressRule(ec2.Peer.anyIpv4(), p, `ipdrift ${protocol}/${port}`);
    }
    return { vpc, subnets, securityGroup: sg };
  }

  /**
   * cdk-nag acknowledgments (v3: CDK's `Validations.acknowledge`), each on the one construct
   * it concerns and for one finding id, with the reason it is acceptable.
   */
  private acknowledgeNagFindings(): void {
    for (const group of new Set(Object.values(this.queriedLogGroups()))) {
      const ref = logGroupRef(group);
      Validations.of(this.role).acknowledge({
        id: `AwsSolutions-IAM5[Resource::${ref?.arn ?? `arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:${ref?.name ?? group}`}:*]`,
        reason:
          'A queried log group (flow or resolver logs) in the form IAM documents for CloudWatch Logs actions (the group ARN and `:*`, its log streams): one named group, no other.',
      });
    }
    Validations.of(this.role).acknowledge(
      { id: NAG_FINDINGS.putMetricDataWildcard, reason: NAG_REASONS.putMetricDataWildcard },
      { id: NAG_FINDINGS.dataKeyWildcard, reason: NAG_REASONS.dataKeyWildcard },
    );
    // The fan-out acknowledges its own functions (lib/fan-out.ts).
    if (this.fanOut) return;
    Validations.of(this.fn).acknowledge({ id: NAG_FINDINGS.notLatestRuntime, reason: NAG_REASONS.notLatestRuntime });
  }
}

/**
 * The AWS CLI lines that let the monitor's group into a target's group, one per distinct port
 * of the config (the user puts each target's own group id for TARGET_SG).
 */
function admitCommands(groupId: string, config: Config): string {
  const ports = [...new Set(config.targets.flatMap((t) => (t.type === 'web-tier' ? [webPort(t.url)] : [t.port])))].sort((a, b) => a - b);
  return ports.map((p) => `aws ec2 authorize-security-group-ingress --group-id TARGET_SG --protocol tcp --port ${p} --source-group ${groupId}`).join(' ; ');
}

/** The port of a web tier's URL. */
const webPort = (url: string) => {
  const u = new URL(url);
  return u.port ? Number(u.port) : u.protocol === 'https:' ? 443 : 80;
};

/** Ends a stack's alarm name prefix: CloudFormation stack names are letters, digits and "-" only. */
export const ALARM_NAME_SEPARATOR = '.';

/** Subscribes the endpoints of `subs` to `topic`. */
function subscribe(topic: sns.Topic, subs: AlarmSubscriptions = {}): void {
  if (subs.email !== undefined) topic.addSubscription(new subscriptions.EmailSubscription(checkEmail(subs.email)));
  if (subs.httpsUrl !== undefined)
    topic.addSubscription(new subscriptions.UrlSubscription(checkHttpsUrl(subs.httpsUrl), { protocol: sns.SubscriptionProtocol.HTTPS }));
}

/** Whole minutes within bounds, and a timeout under the interval so checks never overlap. */
function checkSchedule(interval: Duration, timeout: Duration): void {
  const seconds = interval.toSeconds();
  const { minMinutes, maxMinutes } = SCHEDULE_LIMITS;
  if (seconds % 60 !== 0 || seconds < minMinutes * 60 || seconds > maxMinutes * 60) {
    throw new Error(`schedule: expected whole minutes from ${minMinutes} to ${maxMinutes}, got ${seconds} s`);
  }
  if (timeout.toSeconds() >= seconds) {
    throw new Error(`functionTimeout (${timeout.toSeconds()} s) must be shorter than the schedule (${seconds} s): two checks would overlap`);
  }
}

/** Egress the created security group allows: targets' ports, DNS to the resolvers, HTTPS. */
export function egressPorts(config: Config): Array<{ protocol: 'tcp' | 'udp'; port: number }> {
  const tcp = new Set<number>([EGRESS.https]);
  const dns = new Set<number>();
  for (const t of config.targets) {
    if (t.type === 'web-tier') {
      const u = new URL(t.url);
      tcp.add(u.port !== '' ? Number(u.port) : u.protocol === 'https:' ? 443 : 80);
    } else tcp.add(t.port);
  }
  for (const r of config.resolvers ?? []) {
    const parsed = parseResolver(r);
    if (parsed) dns.add(parsed.port);
  }
  if (dns.size === 0) dns.add(EGRESS.dns); // the VPC resolver
  // DNS falls back to TCP for truncated answers.
  for (const p of dns) tcp.add(p);
  const sorted = (s: Set<number>) => [...s].sort((a, b) => a - b);
  return [...sorted(tcp).map((port) => ({ protocol: 'tcp' as const, port })), ...sorted(dns).map((port) => ({ protocol: 'udp' as const, port }))];
}

function checkEmail(email: string): string {
  if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email)) throw new Error(`alarm email: "${email}" is not an email address`);
  return email;
}

function checkHttpsUrl(url: string): string {
  let ok = false;
  try {
    ok = new URL(url).protocol === 'https:';
  } catch {
    ok = false;
  }
  if (!ok) throw new Error(`alarm HTTPS URL: "${url}" is not an https:// URL`);
  return url;
}
