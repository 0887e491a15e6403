/**
 * The monitor stack's fixed settings, limits and tables (what the design pins, what AWS limits,
 * the IAM actions and the cdk-nag findings it acknowledges), apart from the stack that uses
 * them so each can be read in one place. Creates nothing.
 */
import type * as events from 'aws-cdk-lib/aws-events';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { ENV } from '../../src/contract.ts';

/** Defaults of {@link MonitorStackProps}. */
export const MONITOR_DEFAULTS = {
  memorySize: 256,
  /** One check a minute: EventBridge `rate(1 minute)`. */
  scheduleMinutes: 1,
  /** Under the one-minute schedule, so two checks never overlap. */
  functionTimeoutSeconds: 55,
  codePath: 'dist',
  logRetention: logs.RetentionDays.ONE_MONTH,
} as const;

/** Fixed shape of the function; the design pins these. */
export const FUNCTION_SETTINGS = {
  runtime: lambda.Runtime.NODEJS_22_X,
  architecture: lambda.Architecture.ARM_64,
  handler: 'monitor.handler',
  /**
   * With `reserveConcurrency`: one check at a time. Off by default: reserving fails on new
   * accounts whose concurrency quota is 10 or 50 (Lambda keeps 100 unreserved), and the state's
   * optimistic locking already makes overlapping checks safe.
   */
  reservedConcurrency: 1,
  /** A check that failed is superseded by the next one a minute later; never replay it. */
  retryAttempts: 0,
  /** The minimum Lambda allows; a queued (throttled) check older than this is stale. */
  maxEventAgeSeconds: 60,
  /** The Duration alarm fires at this fraction of the timeout: checks are about to be cut. */
  durationAlarmFraction: 0.8,
} as const;

/**
 * The CloudTrail calls that mean an ELB's nodes changed: its service-linked role creating or
 * deleting a network interface. https://docs.aws.amazon.com/eventbridge/latest/ref/events-ref-ec2.html
 */
export const ELB_ENI_EVENT_PATTERN = {
  source: ['aws.ec2'],
  detailType: ['AWS API Call via CloudTrail'],
  detail: {
    eventSource: ['ec2.amazonaws.com'],
    eventName: ['CreateNetworkInterface', 'DeleteNetworkInterface'],
    userIdentity: { sessionContext: { sessionIssuer: { userName: ['AWSServiceRoleForElasticLoadBalancing'] } } },
  },
} satisfies events.EventPattern;

/** Bounds and periods that follow from the check interval. */
export const SCHEDULE_LIMITS = {
  /** EventBridge's finest rate; metrics are standard resolution (whole minutes) too. */
  minMinutes: 1,
  /** Beyond an hour the dead man's switch (2 intervals) nears CloudWatch's one-day cap. */
  maxMinutes: 60,
  /** The function's own alarms look at no less than this (one bad minute is not a trend). */
  functionAlarmMinMinutes: 5,
  /** "Not running" means no invocation in this many intervals (and at least 5 minutes). */
  notRunningIntervals: 2,
} as const;

/**
 * CloudFormation takes at most 500 resources per template: past a few hundred target alarms
 * they go into nested stacks of their own, so 500 load balancers still deploy as one stack.
 */
export const ALARM_LAYOUT = {
  /** Target alarms kept in the stack itself (the stack's own resources are ~40). */
  maxInRoot: 300,
  /** Target alarms per nested stack. */
  perNestedStack: 400,
} as const;

/** The dashboard stays within CloudWatch's limits (500 widgets, 100 alarms in an alarm widget). */
export const DASHBOARD_LIMITS = {
  /** Up to this many targets get a row each; past it, one graph per metric over every target (a SEARCH). */
  maxTargetRows: 50,
  /** An alarm status widget shows at most this many alarms; past it, only the monitor's own. */
  maxAlarmsInWidget: 100,
} as const;

/** Environment variables the functions read (src/contract.ts), re-exported for the stack's users. */
export { ENV };

/**
 * DynamoDB actions of the store (src/adapters/aws/dynamo-store.ts), and only those: BatchGetItem
 * (state items by the hundred), GetItem and Query to load; TransactWriteItems, which IAM authorises per contained operation (Put of the
 * state and alert items with a version condition, Delete of closed alerts); BatchWriteItem for
 * history overflow. A new operation in the store (Update, ConditionCheck) must be added here.
 */
export const TABLE_ACTIONS = [
  'dynamodb:BatchGetItem',
  'dynamodb:BatchWriteItem',
  'dynamodb:DeleteItem',
  'dynamodb:GetItem',
  'dynamodb:PutItem',
  'dynamodb:Query',
] as const;

/** Days KMS waits before deleting the topic key after the stack is deleted (7-30; cancellable). */
export const TOPIC_KEY_PENDING_WINDOW_DAYS = 7 as const;

/**
 * What a publisher needs on the topic's key (SNS encrypts each message with a data key), in the
 * form the SNS documentation gives for publishers to an encrypted topic.
 */
export const TOPIC_KEY_PUBLISHER_ACTIONS = ['kms:Decrypt', 'kms:GenerateDataKey*'] as const;
/** What CloudWatch alarms need on the topic's key to publish (documented AWS form). */
export const TOPIC_KEY_CLOUDWATCH_ACTIONS = ['kms:Decrypt', 'kms:GenerateDataKey*'] as const;

/** Ports the created security group may reach besides the targets' own. */
export const EGRESS = {
  /** AWS APIs (DynamoDB, SNS, CloudWatch, RDS) through a NAT gateway or VPC endpoints. */
  https: 443,
  dns: 53,
} as const;

/** The cdk-nag (AwsSolutions) findings this stack acknowledges, by finding id. */
export const NAG_FINDINGS = {
  putMetricDataWildcard: 'AwsSolutions-IAM5[Resource::*]',
  dataKeyWildcard: 'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]',
  notLatestRuntime: 'AwsSolutions-L1',
} as const;

/** Why each of {@link NAG_FINDINGS} is acceptable; the monitor's and the failover watcher's roles and functions share them. */
export const NAG_REASONS = {
  putMetricDataWildcard:
    'cloudwatch:PutMetricData supports no resource-level permission, so IAM only accepts Resource "*"; the statement is scoped by the condition cloudwatch:namespace = "ipdrift". In a VPC, the network-interface actions Lambda needs are on "*" too, as Lambda documents (DescribeNetworkInterfaces works only on "*"; the interfaces do not exist before Lambda creates them). With flow or resolver evidence from CloudWatch Logs, logs:StopQuery is on "*" too: the Service Authorization Reference lists no resource type for it (GetQueryResults is on the queried log groups). Every other statement names its one resource.',
  dataKeyWildcard:
    'kms:GenerateDataKey* is the action the SNS documentation gives publishers to an encrypted topic (it covers GenerateDataKey and GenerateDataKeyWithoutPlaintext); the statement names the one topic key.',
  notLatestRuntime:
    'nodejs22.x is pinned by the design (the Node line the project is tested on; the bundle targets node20). cdk-nag flags any runtime but the newest of its family (nodejs24.x); 22.x is an LTS supported by Lambda until 2027.',
} as const satisfies Record<keyof typeof NAG_FINDINGS, string>;

/** CDK (not cdk-nag) warnings about imported VPC parts that this stack acknowledges. */
export const CDK_WARNINGS = {
  vpcAzListToken: '@aws-cdk/aws-ec2:vpcAttributeIsListTokenavailabilityZones',
  subnetNoRouteTable: '@aws-cdk/aws-ec2:noSubnetRouteTableId',
} as const;
