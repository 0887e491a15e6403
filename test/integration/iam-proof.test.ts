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
import { synth } from '../../infra/test/helpers.ts';
import { LabDnsServer } from '../../lab/dns-server.ts';
import { LabNode } from '../../lab/nodes.ts';
import { LAB_V5_FORMAT } from '../../lab/flow-log.ts';
import { ENV } from '../../src/contract.ts';
import type { ConfigInput } from '../../src/core/config.ts';
import type { EngineLogger } from '../../src/core/ports.ts';
import { awsDeps, createHandler } from '../../src/lambda/monitor.ts';
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

/**
 * What the platform does with the function's role on its behalf, never an SDK call of the code:
 * Lambda writes its logs; SNS encrypts a message for its publisher with the topic's key (SNS,
 * "Encryption at rest": the publisher needs kms:GenerateDataKey* and kms:Decrypt on it).
 */
const PLATFORM_ACTIONS = ['logs:CreateLogStream', 'logs:PutLogEvents'];
const SNS_KEY_ACTIONS = ['kms:Decrypt', 'kms:GenerateDataKey*'];

/**
 * Calls no scenario here makes, each simulated as the code would make it, with where a test
 * does take that path.
 */
const UNTAKEN = {
  batchWrite: 'DynamoStore #batchPut: history records that overflow the 100-item transaction (test/integration/aws-dynamo-store.test.ts, "BatchWrite")',
} as const;

/** Remaining time of an invocation whose deadline cuts a Logs Insights query that is still running. */
const DEADLINE_CUT_REMAINING_MS = 6_500;

/** DynamoDB calls, as the recorder middleware saw them. */
const dynamoCalls: AwsCall[] = [];

const quiet: EngineLogger = { info: () => undefined, warn: () => undefined, error: () => undefined };

/** What this test reads of a client's stub. */
interface RecordedStub {
  calls(): { args: unknown[] }[];
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
    restore: () => {
      for (const [, stub] of clients) stub.restore();
    },
  };
}

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

  /** What one scenario proved: its requests (each with the simulator's verdict) and the actions its role grants. */
  interface Proof {
    verdicts: string[];
    used: string[];
    granted: string[];
  }
  const proofs: Proof[] = [];

  /** Synthesizes the stack for `config`, runs `story` with the monitor function's handler, and simulates every call. */
  async function prove(
    config: ConfigInput,
    story: (check: (remainingMs?: number) => Promise<unknown>, aws: ReturnType<typeof recordAws>) => Promise<void>,
  ): Promise<Proof> {
    const s = synth({ config });
    const t = new ResolvedTemplate(s.template, s.stack.stackName);
    const fnId = s.stack.getLogicalId(s.stack.fn.node.defaultChild as never);
    const { roleId, environment } = t.functionOf(fnId);
    const policies = t.rolePolicies(roleId);
    const roleArn = t.attribute(roleId, 'Arn') as string;
    const configPath = join(dir, `${proofs.length}.json`);
    await writeFile(configPath, JSON.stringify(config));
    const aws = recordAws();
    const requests: IamRequest[] = [];
    try {
      const table = environment[ENV.table]!;
      await local.createTable(table).catch(() => undefined);
      const deps = awsDeps({ ...environment, [ENV.configFile]: configPath });
      // The same store and ledger classes, on dynalite.
      const handler = createHandler(
        { ...deps, store: new DynamoStore(local.doc, table), ledger: new DynamoInterfaceLedger(local.doc, table) },
        { logger: quiet },
      );
      await story((remainingMs = 20_000) => handler({}, { getRemainingTimeInMillis: () => remainingMs, awsRequestId: 'iam' }), aws);
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
    const table = environment[ENV.table]!;
    requests.push({ action: 'dynamodb:BatchWriteItem', resource: `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/${table}`, from: UNTAKEN.batchWrite });
    const verdicts = await Promise.all(requests.map(async (r) => `${r.action} ${r.resource} (${r.from}): ${await allowed(t, policies, roleArn, r)}`));
    const proof = { verdicts, used: [...new Set(requests.map((r) => r.action))], granted: grantedActions(policies) };
    proofs.push(proof);
    return proof;
  }

  const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

  it('ELB targets through an incident: a node fails (an alert opens, then resolves), then the ELB replaces its nodes', async () => {
    // Act
    setElb([ADDR.old]);
    dns.setA(ELB2, [ADDR.old], TTL_SECONDS);
    const proof = await prove(elbTargets(), async (check) => {
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
    });
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
    const proof = await prove(everything(), async (check, aws) => {
      await check();
      setElb([ADDR.new]);
      await pause(TTL_SECONDS * 1000 + 100);
      await check();
      // Logs Insights still running when the deadline comes: the query is stopped.
      aws.queriesRun(false);
      await check(DEADLINE_CUT_REMAINING_MS);
    });
    // Assess
    expect(proof.verdicts.filter((v) => !v.endsWith(': Allowed'))).toEqual([]);
    expect(proof.used).toEqual(
      expect.arrayContaining(['rds:DescribeDBClusters', 'secretsmanager:GetSecretValue', 'logs:StartQuery', 'logs:GetQueryResults', 'logs:StopQuery']),
    );
  });

  it('least privilege: every action the roles grant is used by a call, by the platform, or by a path named in UNTAKEN', () => {
    // Assess: over every scenario above (a grant one config adds is used in the scenario with that config).
    expect(proofs).toHaveLength(2);
    const used = new Set(proofs.flatMap((p) => p.used));
    const unused = [...new Set(proofs.flatMap((p) => p.granted))].filter(
      (g) => ![...used].some((a) => covers(g, a)) && !PLATFORM_ACTIONS.includes(g) && !SNS_KEY_ACTIONS.includes(g),
    );
    expect(unused).toEqual([]);
  });
});
