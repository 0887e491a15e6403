/**
 * IAM proven, not assumed: the monitor handler runs checks in-process (real engine, lab DNS and
 * nodes on loopback) with every AWS client recorded by aws-sdk-client-mock; each call is mapped to
 * the IAM requests AWS authorizes for it (iam-calls.ts) and evaluated against the role policies of
 * the stack synthesized from the same config (iam-template.ts), by a policy simulator
 * (@cloud-copilot/iam-simulate, on the Service Authorization Reference's data). Every call must be
 * allowed, and every granted action must be used by a call or by the platform on the function's
 * behalf (least privilege). Fails when a statement is removed or a call is added without a grant.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CloudWatchClient, PutMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { CloudWatchLogsClient, GetQueryResultsCommand, StartQueryCommand, StopQueryCommand } from '@aws-sdk/client-cloudwatch-logs';
import { DescribeDBClustersCommand, RDSClient } from '@aws-sdk/client-rds';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { runSimulation } from '@cloud-copilot/iam-simulate';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VPC_IDS, synth } from '../../infra/test/helpers.ts';
import { LabDnsServer } from '../../lab/dns-server.ts';
import { LabNode } from '../../lab/nodes.ts';
import { LAB_V5_FORMAT } from '../../lab/flow-log.ts';
import { ENV } from '../../src/contract.ts';
import type { ConfigInput } from '../../src/core/config.ts';
import type { EngineLogger } from '../../src/core/ports.ts';
import { awsDeps, createHandler } from '../../src/lambda/monitor.ts';
import { awsFailoverWatchDeps, createFailoverWatchHandler } from '../../src/lambda/failover-watch.ts';
import type { RdsClusterEvent } from '../../src/lambda/failover-watch.ts';
import { createSchedulerHandler, schedulerAwsDeps } from '../../src/lambda/scheduler.ts';
import type { ShardTask } from '../../src/lambda/scheduler.ts';
import { createWorkerHandler } from '../../src/lambda/worker.ts';
import { DynamoTickClaims } from '../../src/adapters/aws/tick-claims.ts';
import { AuroraLab } from '../../lab/aurora.ts';
import { eniCreate, eniDelete } from '../fixtures/events/eni-calls.ts';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { MonitorStack, MonitorStackProps } from '../../infra/lib/monitor-stack.ts';
import { VPC_ENI_ACTIONS } from '../../infra/lib/statements.ts';
import { DynamoStore } from '../../src/adapters/aws/dynamo-store.ts';
import { DynamoInterfaceLedger } from '../../src/adapters/aws/interface-ledger.ts';
import { startLocalDynamo } from './aws-dynalite.ts';
import type { LocalDynamo } from './aws-dynalite.ts';
import { iamRequestsOf } from './iam-calls.ts';
import type { AwsCall, IamRequest } from './iam-calls.ts';
import type { PolicyDocument } from './iam-template.ts';
import { ACCOUNT, REGION, ResolvedTemplate, grantedActions } from './iam-template.ts';

// Addresses of this file: 127.0.76.0/24.
const ADDR = { dns: '127.0.76.1', old: '127.0.76.11', new: '127.0.76.12', db: '127.0.76.21' } as const;
const ELB = 'internal-iam-76.elb.test';
const CLUSTER_HOST = 'orders.cluster-c76.us-east-1.rds.amazonaws.com';
const SECRET = `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:rds!cluster-0edf3242-4cb9-4b90-9896-52cc5068a5fb-XmjB9d`;
const TTL_SECONDS = 1;
/** The Aurora lab's loopback block (127.0.79.x). */
const AURORA_BLOCK = 79;

/**
 * What the platform does with the function's role on its behalf, never an SDK call of the code:
 * Lambda writes its logs, and in a VPC manages the function's interfaces (VPC_ENI_ACTIONS, as Lambda
 * documents them); SNS encrypts a message for its publisher with the topic's key (SNS,
 * "Encryption at rest": the publisher needs kms:GenerateDataKey* and kms:Decrypt on it).
 */
const PLATFORM_ACTIONS: readonly string[] = ['logs:CreateLogStream', 'logs:PutLogEvents', ...VPC_ENI_ACTIONS];
const SNS_KEY_ACTIONS = ['kms:Decrypt', 'kms:GenerateDataKey*'];

/**
 * Calls no scenario here makes, each simulated as the code would make it, with where a test
 * does take that path.
 */
const UNTAKEN: readonly { role: string; action: string; where: string }[] = [
  {
    role: 'monitor',
    action: 'dynamodb:BatchWriteItem',
    where: 'DynamoStore #batchPut: history records that overflow the 100-item transaction (test/integration/aws-dynamo-store.test.ts, "BatchWrite")',
  },
  {
    role: 'failover-watch',
    action: 'dynamodb:BatchWriteItem',
    where: 'DynamoStore #batchPut, as for the monitor: the watcher saves its history through the same store',
  },
  {
    role: 'failover-watch',
    action: 'dynamodb:BatchGetItem',
    where: 'DynamoStore.load of two or more targets on one cluster (test/unit/aws-dynamo-store.test.ts, "BatchGetItem")',
  },
];

/** Remaining time of an invocation whose deadline cuts a Logs Insights query that is still running. */
const DEADLINE_CUT_REMAINING_MS = 6_500;

/** DynamoDB calls, as the recorder middleware saw them. */
const dynamoCalls: AwsCall[] = [];

const quiet: EngineLogger = { info: () => undefined, warn: () => undefined, error: () => undefined };

/** What this test reads of a client's stub. */
interface RecordedStub {
  calls(): { args: unknown[] }[];
  resetHistory(): void;
  restore(): void;
}

/**
 * Every client the handlers use, recorded; answers shaped as the services answer. DynamoDB is
 * dynalite (state must persist from check to check for the calls a real run makes), its calls
 * recorded by a middleware on the document client the store and the ledger are given.
 */
function recordAws() {
  const clients: [string, RecordedStub][] = [];
  const groups = new Map<string, string>();
  const sns = mockClient(SNSClient);
  sns.on(PublishCommand).resolves({ MessageId: 'm-1' });
  const cw = mockClient(CloudWatchClient);
  cw.on(PutMetricDataCommand).resolves({});
  const logs = mockClient(CloudWatchLogsClient);
  logs.on(StartQueryCommand).callsFake((input: { logGroupIdentifiers?: string[] }) => {
    const queryId = `q-${groups.size + 1}`;
    groups.set(queryId, input.logGroupIdentifiers![0]!);
    return { queryId };
  });
  let complete = true;
  logs
    .on(GetQueryResultsCommand)
    .callsFake(() => (complete ? { status: 'Complete', results: [], statistics: { bytesScanned: 0 } } : { status: 'Running', results: [] }));
  logs.on(StopQueryCommand).resolves({ success: true });
  const rds = mockClient(RDSClient);
  rds.on(DescribeDBClustersCommand).resolves({
    DBClusters: [{ DBClusterIdentifier: 'orders', Endpoint: CLUSTER_HOST, DBClusterMembers: [{ DBInstanceIdentifier: 'orders-1', IsClusterWriter: true }] }],
  });
  const secrets = mockClient(SecretsManagerClient);
  secrets.on(GetSecretValueCommand).resolves({ SecretString: JSON.stringify({ username: 'monitor', password: 'not-a-real-one' }) });
  clients.push(['SNSClient', sns], ['CloudWatchClient', cw], ['CloudWatchLogsClient', logs], ['RDSClient', rds], ['SecretsManagerClient', secrets]);
  return {
    groups,
    /** Whether Logs Insights queries complete (else they run until stopped). */
    queriesRun: (done: boolean) => {
      complete = done;
    },
    calls: (): AwsCall[] =>
      [...dynamoCalls.splice(0)].concat(
        clients.flatMap(([client, stub]) =>
          stub.calls().map((c) => {
            const command = c.args[0] as { constructor: { name: string }; input: Record<string, unknown> };
            return { client, command: command.constructor.name, input: command.input };
          }),
        ),
      ),
    /** RDS answers with the writer `lookup` names (the Aurora lab's), in DescribeDBClusters' shape. */
    answerWriters: (lookup: (cluster: string) => Promise<{ members: { id: string; isWriter: boolean }[] }>) => {
      rds.on(DescribeDBClustersCommand).callsFake(async (input: { DBClusterIdentifier: string }) => ({
        DBClusters: [
          {
            DBClusterIdentifier: input.DBClusterIdentifier,
            DBClusterMembers: (await lookup(input.DBClusterIdentifier)).members.map((m) => ({ DBInstanceIdentifier: m.id, IsClusterWriter: m.isWriter })),
          },
        ],
      }));
    },
    /** Forgets the calls so far (another role's). */
    discard: () => {
      dynamoCalls.splice(0);
      for (const [, stub] of clients) stub.resetHistory();
    },
    restore: () => {
      for (const [, stub] of clients) stub.restore();
    },
  };
}

/** An RDS cluster event as EventBridge delivers it (RDS User Guide, "RDS events", cluster category). */
const rdsEvent = (eventId: string, cluster: string): RdsClusterEvent => ({
  version: '0',
  id: 'e-iam',
  'detail-type': 'RDS DB Cluster Event',
  source: 'aws.rds',
  account: ACCOUNT,
  time: new Date().toISOString(),
  region: REGION,
  resources: [`arn:aws:rds:${REGION}:${ACCOUNT}:cluster:${cluster}`],
  detail: {
    EventID: eventId,
    SourceIdentifier: cluster,
    SourceType: 'CLUSTER',
    EventCategories: ['failover'],
    Message: 'Started cross AZ failover',
    Date: new Date().toISOString(),
  },
});

/**
 * Whether the role's policies allow one request, by the simulator, with the resource's own policy
 * when it has one (a KMS key's policy must let IAM decide; the topics deny anything but TLS).
 */
async function allowed(t: ResolvedTemplate, policies: ReturnType<ResolvedTemplate['rolePolicies']>, roleArn: string, r: IamRequest): Promise<string> {
  const resourcePolicy = resourcePolicyOf(t, r);
  const result = await runSimulation(
    {
      identityPolicies: policies.map((policy, n) => ({ name: `policy${n}`, policy })),
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      ...(resourcePolicy ? { resourcePolicy } : {}),
      request: {
        principal: roleArn,
        action: r.action,
        resource: { resource: r.resource, accountId: ACCOUNT },
        // The SDK speaks HTTPS only.
        contextVariables: { 'aws:SecureTransport': 'true', ...r.context },
      },
    },
    {},
  );
  if (result.resultType === 'error') return `error: ${result.errors.message}`;
  return result.overallResult;
}

/** The policy of the resource a request names: a KMS key's key policy, an SNS topic's topic policy. */
function resourcePolicyOf(t: ResolvedTemplate, r: IamRequest): PolicyDocument | undefined {
  if (r.action.startsWith('kms:')) {
    const id = r.resource.slice(r.resource.lastIndexOf('/') + 1);
    return t.resolve(t.resources[id]?.Properties?.KeyPolicy) as PolicyDocument | undefined;
  }
  if (r.action === 'sns:Publish') {
    const policy = t
      .idsOf('AWS::SNS::TopicPolicy')
      .map((id) => t.resolve(t.resources[id]!.Properties) as { Topics: string[]; PolicyDocument: PolicyDocument })
      .find((p) => p.Topics.includes(r.resource));
    return policy?.PolicyDocument;
  }
  return undefined;
}

/** Does `granted` (an action as written, maybe with "*") cover `action`? */
const covers = (granted: string, action: string) => new RegExp(`^${granted.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`, 'i').test(action);

describe('IAM: every call the monitor makes is allowed by its role, and nothing more is granted', () => {
  let dns: LabDnsServer;
  let nodes: LabNode[];
  let dir: string;
  let local: LocalDynamo;

  beforeAll(async () => {
    local = await startLocalDynamo();
    local.doc.middlewareStack.add(
      (next, context) => async (args) => {
        dynamoCalls.push({ client: 'DynamoDBDocumentClient', command: String(context.commandName), input: args.input as Record<string, unknown> });
        return next(args);
      },
      { step: 'initialize', name: 'iamProofRecorder' },
    );
    dns = await LabDnsServer.start({ host: ADDR.dns });
    const first = await LabNode.start({ host: ADDR.old });
    nodes = [first, await LabNode.start({ host: ADDR.new, port: first.port })];
    dir = await mkdtemp(join(tmpdir(), 'ipdrift-iam-'));
  });
  afterAll(async () => {
    await Promise.all([...nodes.map((n) => n.stop()), dns.stop(), local.stop(), rm(dir, { recursive: true, force: true })]);
  });

  const setElb = (addresses: readonly string[]) => {
    dns.setA(ELB, addresses, TTL_SECONDS);
    dns.setA(`all.${ELB}`, addresses, TTL_SECONDS);
  };

  const ELB2 = 'internal-api-76.elb.test';
  const elbTargets = (): ConfigInput => ({
    resolvers: [dns.address],
    allowLoopback: true,
    targets: [ELB, ELB2].map((host, i) => ({
      name: ['app-alb', 'api-alb'][i]!,
      type: 'elb' as const,
      host,
      port: nodes[0]!.port,
      timeoutMs: 500,
      openAfterChecks: 1,
      probe: { protocol: 'http' as const, path: '/health' },
    })),
  });
  const everything = (): ConfigInput => ({
    ...elbTargets(),
    targets: [
      ...elbTargets().targets,
      {
        name: 'orders-db',
        type: 'aurora',
        host: CLUSTER_HOST,
        port: nodes[0]!.port,
        engine: 'postgres',
        clusterIdentifier: 'orders',
        timeoutMs: 500,
        login: { user: 'monitor', secretArn: SECRET, tls: 'off' },
      },
    ],
    flowLogs: { source: 'cloudwatch', logGroup: '/vpc/flow-logs/prod', ignoreSources: ['10.0.8.0/24'], everyMinutes: 0, format: LAB_V5_FORMAT },
    resolverLogs: { source: 'cloudwatch', logGroup: '/route53/resolver/prod', everyMinutes: 0, censusEveryMinutes: 0 },
  });

  /** What one scenario proved for one role: its requests (each with the simulator's verdict) and the actions the role grants. */
  interface Proof {
    role: string;
    verdicts: string[];
    used: string[];
    granted: string[];
  }
  const proofs: Proof[] = [];

  /** What a story gets: the function's environment (resolved from the template) and the recorder. */
  interface StoryContext {
    env: Record<string, string>;
    /** The monitor function's environment in the same stack (the watcher needs a monitor check first). */
    monitorEnv: Record<string, string>;
    aws: ReturnType<typeof recordAws>;
  }

  /**
   * Synthesizes the stack for `config`, runs `story` with the environment of the function `fnOf`
   * picks, and simulates every call it made against that function's role.
   */
  async function prove(
    role: string,
    config: ConfigInput,
    props: Partial<MonitorStackProps>,
    fnOf: (stack: MonitorStack) => IFunction,
    story: (ctx: StoryContext) => Promise<void>,
  ): Promise<Proof> {
    const s = synth({ config, ...props });
    const t = new ResolvedTemplate(s.template, s.stack.stackName);
    const idOf = (fn: IFunction) => s.stack.getLogicalId(fn.node.defaultChild as never);
    const { roleId, environment } = t.functionOf(idOf(fnOf(s.stack)));
    const policies = t.rolePolicies(roleId);
    const roleArn = t.attribute(roleId, 'Arn') as string;
    const configPath = join(dir, `${proofs.length}.json`);
    await writeFile(configPath, JSON.stringify(config));
    const env: Record<string, string> = { ...environment, [ENV.configFile]: configPath };
    const monitorEnv = { ...t.functionOf(idOf(s.stack.fn)).environment, [ENV.configFile]: configPath };
    const table = env[ENV.table]!;
    await local.createTable(table).catch(() => undefined);
    const aws = recordAws();
    const requests: IamRequest[] = [];
    try {
      await story({ env, monitorEnv, aws });
      for (const call of aws.calls()) requests.push(...iamRequestsOf(call, aws.groups));
    } finally {
      aws.restore();
    }
    // SNS encrypts each message with the topic's key for the publisher.
    const keyOf = (topicArn: string) => {
      const id = t.idsOf('AWS::SNS::Topic').find((i) => t.ref(i) === topicArn);
      return id ? String(t.resolve(t.resources[id]!.Properties!.KmsMasterKeyId)) : undefined;
    };
    for (const r of requests.filter((q) => q.action === 'sns:Publish')) {
      const key = keyOf(r.resource);
      if (key) for (const action of ['kms:GenerateDataKey', 'kms:Decrypt']) requests.push({ action, resource: key, from: `${r.from} (SNS for the publisher)` });
    }
    // Paths no scenario takes, asked of the simulator as the code would ask them.
    for (const u of UNTAKEN.filter((x) => x.role === role))
      requests.push({ action: u.action, resource: `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/${table}`, from: u.where });
    const verdicts = await Promise.all(requests.map(async (r) => `${r.action} ${r.resource} (${r.from}): ${await allowed(t, policies, roleArn, r)}`));
    const proof = { role, verdicts, used: [...new Set(requests.map((r) => r.action))], granted: grantedActions(policies) };
    proofs.push(proof);
    return proof;
  }

  /** The handlers, each with the store, ledger and claims on dynalite (the same classes the Lambda builds). */
  const onDynalite = (env: Record<string, string>) => {
    const table = env[ENV.table]!;
    return { store: new DynamoStore(local.doc, table), ledger: new DynamoInterfaceLedger(local.doc, table), claims: new DynamoTickClaims(local.doc, table) };
  };
  const monitorHandler = (env: Record<string, string>) => {
    const { store, ledger } = onDynalite(env);
    return createHandler({ ...awsDeps(env), store, ledger }, { logger: quiet });
  };
  const invoke = (remainingMs = 20_000) => ({ getRemainingTimeInMillis: () => remainingMs, awsRequestId: 'iam' });

  const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

  it('ELB targets through an incident: a node fails (an alert opens, then resolves), then the ELB replaces its nodes', async () => {
    // Act
    setElb([ADDR.old]);
    dns.setA(ELB2, [ADDR.old], TTL_SECONDS);
    const proof = await prove(
      'monitor',
      elbTargets(),
      {},
      (stack) => stack.fn,
      async ({ env }) => {
        const handler = monitorHandler(env);
        const check = () => handler({}, invoke());
        await check();
        await nodes[0]!.setMode('refuse');
        await check();
        await check();
        await nodes[0]!.setMode('serve');
        await check();
        await check();
        await check();
        setElb([ADDR.new]);
        await pause(TTL_SECONDS * 1000 + 100);
        await check();
      },
    );
    // Assess
    expect(proof.verdicts.length).toBeGreaterThan(0);
    expect(proof.verdicts.filter((v) => !v.endsWith(': Allowed'))).toEqual([]);
    expect(proof.used).toEqual(expect.arrayContaining(['dynamodb:BatchGetItem', 'dynamodb:PutItem', 'dynamodb:DeleteItem', 'dynamodb:Query', 'sns:Publish']));
  });

  it('ELB, Aurora with a login secret (an rds! secret), flow and resolver logs in CloudWatch Logs; a query the deadline cuts', async () => {
    // Act
    setElb([ADDR.old]);
    dns.setA(ELB2, [ADDR.old], TTL_SECONDS);
    dns.setA(CLUSTER_HOST, [ADDR.db], TTL_SECONDS);
    const proof = await prove(
      'monitor',
      everything(),
      {},
      (stack) => stack.fn,
      async ({ env, aws }) => {
        const handler = monitorHandler(env);
        const check = (remainingMs?: number) => handler({}, invoke(remainingMs));
        await check();
        setElb([ADDR.new]);
        await pause(TTL_SECONDS * 1000 + 100);
        await check();
        // Logs Insights still running when the deadline comes: the query is stopped.
        aws.queriesRun(false);
        await check(DEADLINE_CUT_REMAINING_MS);
      },
    );
    // Assess
    expect(proof.verdicts.filter((v) => !v.endsWith(': Allowed'))).toEqual([]);
    expect(proof.used).toEqual(
      expect.arrayContaining(['rds:DescribeDBClusters', 'secretsmanager:GetSecretValue', 'logs:StartQuery', 'logs:GetQueryResults', 'logs:StopQuery']),
    );
  });

  it("in a VPC with -c endpoints=create: the same calls, allowed by the same role (its ENI statement is Lambda's)", async () => {
    // Prepare
    setElb([ADDR.old]);
    dns.setA(ELB2, [ADDR.old], TTL_SECONDS);
    const vpc = {
      vpcId: VPC_IDS.vpcId,
      subnetIds: [...VPC_IDS.subnetIds],
      availabilityZones: [...VPC_IDS.availabilityZones],
      createEndpoints: true,
      routeTableIds: ['rtb-0aaaaaaaaaaaaaaa1'],
    };
    // Act
    const proof = await prove(
      'monitor',
      elbTargets(),
      { vpc },
      (stack) => stack.fn,
      async ({ env }) => {
        expect(env.AWS_ENDPOINT_URL_SNS).toMatch(/^https:\/\/vpce-/);
        const handler = monitorHandler(env);
        await handler({}, invoke());
        await nodes[0]!.setMode('refuse');
        await handler({}, invoke());
        await nodes[0]!.setMode('serve');
      },
    );
    // Assess
    expect(proof.verdicts.filter((v) => !v.endsWith(': Allowed'))).toEqual([]);
    expect(proof.granted).toEqual(expect.arrayContaining([...VPC_ENI_ACTIONS]));
  });

  it('the failover watcher through an Aurora failover (RDS event 0073): writer lookups, the timeline metrics, the notice, the history', async () => {
    // Prepare: the lab's cluster, checked once by the monitor; RDS answers with the lab's writer.
    const lab = await AuroraLab.start({ block: AURORA_BLOCK, script: { swapAfterMs: 200, dnsLagMs: 300, restartMs: 400 } });
    try {
      // Act
      const proof = await prove(
        'failover-watch',
        lab.config(),
        {},
        (stack) => stack.failoverWatch!.fn,
        async ({ env, monitorEnv, aws }) => {
          aws.answerWriters((id) => lab.writer(id));
          await monitorHandler(monitorEnv)({}, invoke());
          aws.discard();
          const { store } = onDynalite(env);
          const watch = createFailoverWatchHandler({ ...awsFailoverWatchDeps(env), store, logger: quiet, retryDelayMs: 1 });
          await lab.failover('orders');
          const result = await watch(rdsEvent('RDS-EVENT-0073', 'orders'), invoke(180_000));
          expect(result.targets[0]).toMatchObject({ settled: true, notified: true, historySaved: true });
        },
      );
      // Assess
      expect(proof.verdicts.filter((v) => !v.endsWith(': Allowed'))).toEqual([]);
      expect(proof.used).toEqual(expect.arrayContaining(['rds:DescribeDBClusters', 'cloudwatch:PutMetricData', 'sns:Publish', 'dynamodb:PutItem']));
    } finally {
      await lab.stop();
    }
  });

  it('fan-out with -c eniEvents: the scheduler claims ticks and records an ELB interface created, then deleted; a worker checks its shard', async () => {
    // Prepare: one target per shard.
    setElb([ADDR.old]);
    dns.setA(ELB2, [ADDR.old], TTL_SECONDS);
    const call = eniCreate({ interfaceId: 'eni-0aaaaaaaaaaaaaaa1', at: new Date().toISOString(), addresses: [ADDR.new] }) as { id: string; detail: unknown };
    let tasks: ShardTask[] = [];
    // Act: the scheduler's role.
    const scheduler = await prove(
      'scheduler',
      elbTargets(),
      { shardSize: 1, elbEniEvents: true },
      (stack) => stack.fanOut!.scheduler,
      async ({ env }) => {
        const { claims, ledger } = onDynalite(env);
        const schedule = createSchedulerHandler({ ...schedulerAwsDeps(env), claims, ledger, logger: quiet });
        tasks = [...(await schedule({ id: call.id, time: new Date().toISOString(), execution: 'exec-1', detail: call.detail })).shards];
        // The ELB deletes the interface: its addresses are looked up in the ledger and released.
        const deleted = eniDelete({ interfaceId: 'eni-0aaaaaaaaaaaaaaa1', at: new Date().toISOString() }) as { id: string; detail: unknown };
        const released = await schedule({ id: deleted.id, time: new Date().toISOString(), execution: 'exec-2', detail: deleted.detail });
        expect(released.shards[0]?.interfaces?.released.map((r) => r.address)).toEqual([ADDR.new]);
      },
    );
    // Act: a worker's role (the monitor's), on the tasks the scheduler made.
    const worker = await prove(
      'monitor',
      elbTargets(),
      { shardSize: 1, elbEniEvents: true },
      (stack) => stack.fanOut!.worker,
      async ({ env }) => {
        const { store, ledger } = onDynalite(env);
        const work = createWorkerHandler({ ...awsDeps(env), store, ledger }, { logger: quiet });
        for (const task of tasks) await work(task, invoke());
      },
    );
    // Assess
    expect(tasks).toHaveLength(2);
    for (const proof of [scheduler, worker]) expect(proof.verdicts.filter((v) => !v.endsWith(': Allowed'))).toEqual([]);
    expect(scheduler.used).toEqual(expect.arrayContaining(['dynamodb:PutItem']));
  });

  it('least privilege: every action each role grants is used by a call, by the platform, or by a path named in UNTAKEN', () => {
    // Assess: per role, over every scenario that ran it (a grant one config adds is used in the scenario with that config).
    expect(new Set(proofs.map((p) => p.role))).toEqual(new Set(['monitor', 'failover-watch', 'scheduler']));
    for (const role of new Set(proofs.map((p) => p.role))) {
      const mine = proofs.filter((p) => p.role === role);
      const used = new Set(mine.flatMap((p) => p.used));
      const unused = [...new Set(mine.flatMap((p) => p.granted))].filter(
        (g) => ![...used].some((a) => covers(g, a)) && !PLATFORM_ACTIONS.includes(g) && !SNS_KEY_ACTIONS.includes(g),
      );
      expect({ role, unused }).toEqual({ role, unused: [] });
    }
  });
});
