/**
 * Fan-out past one invocation: a Step Functions Standard workflow per check. The schedule
 * starts one execution per tick; its first task (src/lambda/scheduler.ts) claims the tick and
 * splits the targets into shards; a Map state runs one worker (src/lambda/worker.ts) per shard,
 * all at once.
 *
 * Why Step Functions and not the scheduler invoking workers asynchronously (InvocationType
 * Event): alerts must go out exactly once per transition, and the engine guarantees that only
 * while no two checks of the same target overlap (it publishes, then saves with a version
 * check: two overlapping checks would both publish the same "opened"). Asynchronous invokes
 * break that three ways: Lambda's event queue delivers at least once, so a shard's event can
 * run twice, even at the same time; a failed invocation is retried (up to twice, a minute or
 * two later), landing on top of the next tick's check of the same shard; and a throttled event
 * waits in the queue (at least a minute) and runs late, again over the next tick. Reserved
 * concurrency cannot help: it caps the function, not a shard. Making that safe would need a
 * lease per shard in DynamoDB, i.e. rebuilding a workflow engine.
 *
 * A Standard workflow gives the guarantees directly: each state runs once per execution unless
 * a Retry says otherwise, and we retry only `Lambda.TooManyRequestsException` (the worker never
 * started, so it cannot run twice); a worker that fails is caught, not retried (the engine
 * re-sends an undelivered notice on the next tick, from the saved state). EventBridge may start
 * two executions for one tick, so the scheduler claims the tick's event id with a conditional
 * write and the second finds nothing to do. Every shard's check ends before the next tick
 * (its deadline is the tick's time + the interval - a guard; a worker starting later skips),
 * and a target is in exactly one shard per tick, so no two checks of a target overlap and no
 * two workers write one item: a target's state is its own partition.
 *
 * The price: about 3 + N state transitions a check ($0.025 per 1,000), only past one invocation.
 */
import { Duration, Stack, Validations } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as eventTargets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { STACK_SHAPE } from '../../src/planning/cost/estimate.ts';
import { ownLogsStatement } from './statements.ts';
import { BUNDLE_ENTRIES, BUNDLE_FILES, LAMBDA_TASK_ROOT, stageLambdaBundle } from './lambda-bundle.ts';
import { ENV, TABLE_KEYS } from '../../src/contract.ts';

/** Fixed settings of the fan-out. */
export const FANOUT_SETTINGS = {
  /** An inline Map state runs at most 40 iterations at once; a 41st shard would start late and skip its tick. */
  maxShards: 40,
  /** Parsing and splitting 1,000 targets takes tens of ms; this bounds a stuck config read. */
  schedulerTimeoutSeconds: 20,
  schedulerMemoryMb: STACK_SHAPE.schedulerMemoryMb,
  /** The errors retried: the invocation was refused before it ran, so nothing runs twice. */
  retriedErrors: ['Lambda.TooManyRequestsException'],
  retry: { maxAttempts: 2, intervalSeconds: 1, backoffRate: 2 },
  /** Matches src/lambda/scheduler.ts SCHEDULER_DEFAULTS.tickGuardMs: an execution ends before the next tick. */
  tickGuardSeconds: 5,
  /** EventBridge's retries of a failed StartExecution; a late tick's workers skip themselves anyway. */
  startRetryAttempts: 2,
  startMaxEventAgeSeconds: 60,
} as const;

/** cdk-nag findings the fan-out acknowledges. */
export const FANOUT_NAG_FINDINGS = {
  notLatestRuntime: 'AwsSolutions-L1',
  noExecutionLogs: 'AwsSolutions-SF1',
  noTracing: 'AwsSolutions-SF2',
} as const;

/** What the fan-out is built from; the checker's settings are the monitor's. */
export interface FanOutProps {
  /** Shards the config splits into now (the scheduler recomputes them each tick). */
  readonly shards: number;
  readonly shardSize: number;
  readonly interval: Duration;
  /** The bundled config, as written. */
  readonly configJson: string;
  readonly codePath: string;
  readonly table: dynamodb.ITable;
  /** The worker: the monitor's function settings, role, log group and environment. */
  readonly worker: Omit<lambda.FunctionProps, 'code' | 'handler' | 'reservedConcurrentExecutions'>;
  readonly logRetention: logs.RetentionDays;
  /** Reserve one worker per shard (MonitorStackProps.reserveConcurrency); default off. */
  readonly reserveConcurrency?: boolean;
  /** ELB interface calls start executions too: the scheduler records them (MonitorStackProps.elbEniEvents). */
  readonly interfaceLedger?: boolean;
}

/** The scheduler, the worker and the workflow between them. */
export class FanOut extends Construct {
  readonly scheduler: lambda.Function;
  readonly schedulerRole: iam.Role;
  readonly schedulerLogGroup: logs.LogGroup;
  readonly worker: lambda.Function;
  readonly stateMachine: sfn.StateMachine;

  constructor(scope: Construct, id: string, props: FanOutProps) {
    super(scope, id);
    if (props.shards > FANOUT_SETTINGS.maxShards) {
      throw new Error(
        `shardSize ${props.shardSize}: ${props.shards} shards, over the ${FANOUT_SETTINGS.maxShards} a Map state runs at once; raise shardSize (and memory) or split the config into stacks`,
      );
    }
    const assetOf = (entry: (typeof BUNDLE_ENTRIES)[keyof typeof BUNDLE_ENTRIES]) =>
      lambda.Code.fromAsset(stageLambdaBundle(props.codePath, props.configJson, entry));

    // Reserved concurrency = shards, when asked for: a backstop cap on checks at once, never above the Map's.
    this.worker = new lambda.Function(this, 'WorkerFunction', {
      ...props.worker,
      description: 'ipdrift: one check of one shard of the targets (a Step Functions Map iteration)',
      handler: `${BUNDLE_ENTRIES.worker}.handler`,
      code: assetOf(BUNDLE_ENTRIES.worker),
      ...(props.reserveConcurrency ? { reservedConcurrentExecutions: props.shards } : {}),
    });

    this.schedulerLogGroup = new logs.LogGroup(this, 'SchedulerLogs', { retention: props.logRetention });
    this.schedulerRole = new iam.Role(this, 'SchedulerRole', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: 'ipdrift scheduler: claims ticks in the state table, its own logs',
    });
    this.schedulerRole.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'TickClaims',
        actions: ['dynamodb:PutItem'],
        resources: [props.table.tableArn],
        // Only the claim partition: the scheduler can never touch a target's state.
        conditions: { 'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': [TABLE_KEYS.tickClaimPartition] } },
      }),
    );
    if (props.interfaceLedger) {
      this.schedulerRole.addToPrincipalPolicy(
        new iam.PolicyStatement({
          sid: 'InterfaceLedger',
          actions: ['dynamodb:GetItem', 'dynamodb:PutItem'],
          resources: [props.table.tableArn],
          // Only the interfaces' items (src/adapters/aws/interface-ledger.ts), never a target's state.
          conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [`${TABLE_KEYS.interfacePrefix}*`] } },
        }),
      );
    }
    this.schedulerRole.addToPrincipalPolicy(ownLogsStatement(this.schedulerLogGroup));
    // Outside any VPC: it talks to DynamoDB only, and needs no ENI or NAT.
    this.scheduler = new lambda.Function(this, 'SchedulerFunction', {
      description: "ipdrift: claims the tick and splits the targets into shards (the workflow's first task)",
      runtime: props.worker.runtime,
      architecture: props.worker.architecture,
      handler: `${BUNDLE_ENTRIES.scheduler}.handler`,
      code: assetOf(BUNDLE_ENTRIES.scheduler),
      memorySize: FANOUT_SETTINGS.schedulerMemoryMb,
      timeout: Duration.seconds(FANOUT_SETTINGS.schedulerTimeoutSeconds),
      role: this.schedulerRole,
      logGroup: this.schedulerLogGroup,
      environment: {
        [ENV.configFile]: `${LAMBDA_TASK_ROOT}/${BUNDLE_FILES.config}`,
        [ENV.table]: props.table.tableName,
        [ENV.shardSize]: String(props.shardSize),
        [ENV.intervalSeconds]: String(props.interval.toSeconds()),
        NODE_OPTIONS: '--enable-source-maps',
      },
    });

    const retryThrottles = {
      errors: [...FANOUT_SETTINGS.retriedErrors],
      maxAttempts: FANOUT_SETTINGS.retry.maxAttempts,
      interval: Duration.seconds(FANOUT_SETTINGS.retry.intervalSeconds),
      backoffRate: FANOUT_SETTINGS.retry.backoffRate,
    };
    const schedule = new tasks.LambdaInvoke(this, 'Schedule', {
      lambdaFunction: this.scheduler,
      payload: sfn.TaskInput.fromObject({
        id: sfn.JsonPath.stringAt('$.id'),
        time: sfn.JsonPath.stringAt('$.time'),
        execution: sfn.JsonPath.stringAt('$$.Execution.Id'),
        // An ELB interface call's record, for the scheduler's ledger ({} for a tick: see scheduleTarget).
        detail: sfn.JsonPath.objectAt('$.detail'),
      }),
      payloadResponseOnly: true,
      // CDK's default retries Lambda service errors too: a worker might then run twice.
      retryOnServiceExceptions: false,
    }).addRetry(retryThrottles);
    const check = new tasks.LambdaInvoke(this, 'CheckShard', {
      lambdaFunction: this.worker,
      payloadResponseOnly: true,
      retryOnServiceExceptions: false,
      resultPath: sfn.JsonPath.DISCARD,
    })
      .addRetry(retryThrottles)
      // A failed shard does not stop the others; the worker's Errors alarm reports it.
      .addCatch(new sfn.Pass(this, 'ShardFailed'), { resultPath: '$.error' });
    const shards = new sfn.Map(this, 'Shards', {
      itemsPath: '$.shards',
      maxConcurrency: FANOUT_SETTINGS.maxShards,
      resultPath: sfn.JsonPath.DISCARD,
    }).itemProcessor(check);

    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      comment: 'ipdrift: one check of every target, one worker per shard',
      stateMachineType: sfn.StateMachineType.STANDARD,
      definitionBody: sfn.DefinitionBody.fromChainable(schedule.next(shards)),
      // An execution never outlives its tick.
      timeout: Duration.seconds(props.interval.toSeconds() - FANOUT_SETTINGS.tickGuardSeconds),
    });
    this.acknowledgeNagFindings();
  }

  /** The EventBridge target: one execution per tick, with the event's id (the claim) and time (the deadline). */
  scheduleTarget(options: { withDetail?: boolean } = {}): events.IRuleTarget {
    // An ELB interface call's record goes along for the scheduler to put in the ledger; a tick
    // carries an empty one, so the state machine's `$.detail` always exists.
    const detail = { detail: options.withDetail ? events.EventField.fromPath('$.detail') : {} };
    return new eventTargets.SfnStateMachine(this.stateMachine, {
      input: events.RuleTargetInput.fromObject({ id: events.EventField.eventId, time: events.EventField.time, ...detail }),
      retryAttempts: FANOUT_SETTINGS.startRetryAttempts,
      maxEventAge: Duration.seconds(FANOUT_SETTINGS.startMaxEventAgeSeconds),
    });
  }

  private acknowledgeNagFindings(): void {
    for (const fn of [this.worker, this.scheduler]) {
      Validations.of(fn).acknowledge({
        id: FANOUT_NAG_FINDINGS.notLatestRuntime,
        reason:
          'nodejs22.x is pinned by the design (the Node line the project is tested on; the bundle targets node20). cdk-nag flags any runtime but the newest of its family; 22.x is an LTS supported by Lambda until 2027.',
      });
    }
    Validations.of(this.stateMachine).acknowledge(
      {
        id: FANOUT_NAG_FINDINGS.noExecutionLogs,
        reason:
          'Every shard\'s outcome is already logged by its worker (one JSON line per check, tagged with tick and shard), failures alarm through the worker\'s Errors and the ExecutionsFailed alarms, and Standard executions keep their full history for 90 days; logging ALL events would add ~15 log events a minute and a logs:* delivery policy on "*".',
      },
      {
        id: FANOUT_NAG_FINDINGS.noTracing,
        reason:
          'Two Lambda tasks per execution with their own durations in CloudWatch; X-Ray would trace 43,800 executions a month for no question those metrics and logs leave open.',
      },
    );
    // The Lambda tasks' policy names each function and its versions/aliases (`<arn>:*`), CDK's grant.
    const stack = Stack.of(this);
    for (const fn of [this.worker, this.scheduler]) {
      Validations.of(this.stateMachine.role).acknowledge({
        id: `AwsSolutions-IAM5[Resource::<${stack.getLogicalId(fn.node.defaultChild as lambda.CfnFunction)}.Arn>:*]`,
        reason:
          "CDK's LambdaInvoke grant: lambda:InvokeFunction on this one function and its qualified versions/aliases (`<arn>:*`); no other function is reachable.",
      });
    }
  }
}
