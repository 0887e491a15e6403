/**
 * The deployable artefact: `node esbuild.config.mjs` builds dist/monitor.mjs, and the bundle's
 * own default `handler` runs checks under plain `node` in child processes (two cold starts),
 * with its bundled AWS SDK pointed by the standard AWS_ENDPOINT_URL_* variables at dynalite and
 * at small fake SNS and CloudWatch endpoints on loopback.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LabDnsServer } from '../../lab/dns-server.ts';
import { LabNode } from '../../lab/nodes.ts';
import { DynamoStore } from '../../src/adapters/aws/dynamo-store.ts';
import { startLocalDynamo } from './aws-dynalite.ts';
import { bundleEnv, startFakeAws } from './aws-fakes.ts';
import { BUNDLE_FILES, stageLambdaBundle } from '../../infra/lib/lambda-bundle.ts';
import type { LocalDynamo } from './aws-dynalite.ts';

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '../..');
// Addresses of this file: 127.0.63.0/24.
const ADDR = { dns: '127.0.63.1', old: '127.0.63.11', new: '127.0.63.12', fakes: '127.0.63.2' } as const;
const ELB = 'internal-bundle.elb.test';
const TABLE = 'ipdrift-bundle';
const TOPIC = 'arn:aws:sns:us-east-1:123456789012:oncall';
const EVENTS_TOPIC = 'arn:aws:sns:us-east-1:123456789012:events';
const CHILD_TIMEOUT_MS = 15_000;
/** Lambda's own limit for a zipped deployment is 50 MB; we want to stay far below. */
const MAX_BUNDLE_KB = 5 * 1024;

describe('the bundle (dist/monitor.mjs) under plain node', () => {
  let dir: string;
  let dns: LabDnsServer;
  let oldNode: LabNode;
  let newNode: LabNode;
  let local: LocalDynamo;
  let fake: Awaited<ReturnType<typeof startFakeAws>>;
  let staged: string | undefined;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ipdrift-bundle-'));
    dns = await LabDnsServer.start({ host: ADDR.dns });
    oldNode = await LabNode.start({ host: ADDR.old });
    newNode = await LabNode.start({ host: ADDR.new, port: oldNode.port });
    local = await startLocalDynamo();
    await local.createTable(TABLE);
    fake = await startFakeAws(ADDR.fakes);
  });
  afterAll(async () => {
    fake.server.closeAllConnections();
    await Promise.all([
      oldNode.stop(),
      newNode.stop(),
      dns.stop(),
      local.stop(),
      new Promise((r) => fake.server.close(r)),
      rm(dir, { recursive: true, force: true }),
      ...(staged ? [rm(staged, { recursive: true, force: true })] : []),
    ]);
  });

  it('builds, prints its size, and runs checks with the real adapters across two cold starts', async () => {
    // Prepare: build into a temporary directory (dist/ may be in use by others).
    const out = join(dir, 'dist');
    const built = await run(process.execPath, [join(ROOT, 'esbuild.config.mjs'), '--outdir', out], { cwd: ROOT, timeout: CHILD_TIMEOUT_MS });
    // Run it from the directory the stack ships (the entry, its chunks, the config), as Lambda would.
    staged = stageLambdaBundle(out, '{"targets":[]}\n');
    const bundle = join(staged, BUNDLE_FILES.entry);
    const configPath = join(dir, 'ipdrift.config.json');
    await writeFile(
      configPath,
      JSON.stringify({
        resolvers: [dns.address],
        allowLoopback: true,
        targets: [{ name: 'app-alb', type: 'elb', host: ELB, port: oldNode.port, timeoutMs: 500, probe: { protocol: 'http', path: '/health' } }],
      }),
    );
    dns.setA(ELB, [ADDR.old], 1);
    const env = bundleEnv({
      dynamodb: local.endpoint,
      fake: fake.endpoint,
      table: TABLE,
      topicArn: TOPIC,
      eventsTopicArn: EVENTS_TOPIC,
      configFile: configPath,
    });
    const script = `const { handler } = await import(${JSON.stringify(pathToFileURL(bundle).href)});
      const summary = await handler({ source: 'aws.events' }, { getRemainingTimeInMillis: () => 20000, awsRequestId: process.argv[1] });
      process.stderr.write('summary ' + JSON.stringify(summary) + '\\n');`;
    const invoke = (id: string) => run(process.execPath, ['--input-type=module', '-e', script, id], { cwd: dir, env, timeout: CHILD_TIMEOUT_MS });

    // Act: a baseline check, then the ELB's node is replaced and the old one refuses.
    const first = await invoke('cold-1');
    dns.setA(ELB, [ADDR.new], 1);
    await oldNode.setMode('refuse');
    const second = await invoke('cold-2');

    // Assess: the build printed the size; each process logged one JSON line for its check.
    const size = /monitor\.mjs\s+([\d.]+) KB/.exec(built.stdout);
    expect(size).not.toBeNull();
    const kb = Number(size![1]);
    console.log(`bundle: ${kb} KB (${(await stat(`${bundle}.map`)).size >> 10} KB source map)`);
    expect(kb).toBeLessThan(MAX_BUNDLE_KB);
    const checkLine = (stdout: string) =>
      stdout
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Record<string, unknown>)
        .filter((l) => l.message === 'check');
    expect(checkLine(first.stdout)).toEqual([
      expect.objectContaining({ level: 'INFO', service: 'ipdrift', ok: true, requestId: 'cold-1', targets: 1, findings: 0, transitions: 0 }),
    ]);
    expect(checkLine(second.stdout)).toEqual([
      expect.objectContaining({
        ok: true,
        requestId: 'cold-2',
        delivered: 1,
        undelivered: 0,
        findingsByKind: { 'address-set-changed': 1, 'retired-address-dead': 1 },
      }),
    ]);
    // What reached the fake SNS: the address change, to the events topic; nothing paged on-call
    // (a replaced node whose old address refuses is the ELB working as designed).
    const publishes = fake.received.filter((r) => r.service === 'sns').map((r) => new URLSearchParams(r.body));
    expect(publishes.map((p) => [p.get('Action'), p.get('TopicArn')])).toEqual([['Publish', EVENTS_TOPIC]]);
    expect(publishes.map((p) => p.get('Subject')).sort()).toEqual(['[INFO] app-alb: address set changed (+127.0.63.12, -127.0.63.11)']);
    const metrics = fake.received.filter((r) => r.service === 'cloudwatch').map((r) => JSON.parse(r.body) as { Namespace: string; MetricData: unknown[] });
    expect(metrics).toHaveLength(2);
    expect(metrics.every((m) => m.Namespace === 'ipdrift' && m.MetricData.length > 0)).toBe(true);
    // State survived the cold start: it lives in DynamoDB.
    expect((await new DynamoStore(local.doc, TABLE).load(['app-alb'])).get('app-alb')).toMatchObject({ version: 2 });
  });
});
