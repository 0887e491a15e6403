/**
 * `ipdrift failover-drill` and `ipdrift demo aurora` through the real CLI (child processes).
 * The --yes path runs against a fake RDS endpoint on loopback (awsQuery XML, AWS_ENDPOINT_URL_RDS)
 * backed by the lab pair, so the lazily imported SDK adapter is exercised end to end without AWS.
 * A resolve hook that refuses @aws-sdk/* proves the dry run and the demo never load the SDK.
 */
import { execFile } from 'node:child_process';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { once } from 'node:events';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuroraLab } from '../../lab/aurora.ts';

const BIN = join(import.meta.dirname, '../../bin/ipdrift.mjs');
const NO_SDK_HOOK = `data:text/javascript,${encodeURIComponent(
  `import { register } from 'node:module';
   register('data:text/javascript,' + encodeURIComponent("export async function resolve(s, c, next) { if (s.startsWith('@aws-sdk/')) throw new Error('AWS SDK loaded: ' + s); return next(s, c); }"));`,
)}`;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function cli(args: string[], opts: { noSdk?: boolean; env?: Record<string, string> } = {}): Promise<Run> {
  return new Promise((resolve) => {
    const node = opts.noSdk ? ['--import', NO_SDK_HOOK] : [];
    execFile(process.execPath, [...node, BIN, ...args], { timeout: 60_000, env: { ...process.env, NO_COLOR: '1', ...opts.env } }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 99) : 0, stdout, stderr });
    });
  });
}

/** A fake RDS query-protocol endpoint answering from the lab; records each request's parameters. */
async function fakeRds(lab: AuroraLab) {
  const requests: Record<string, string>[] = [];
  const xmlCluster = async () => {
    const w = await lab.writer(lab.clusterIdentifier);
    const members = w.members
      .map((m) => `<DBClusterMember><DBInstanceIdentifier>${m.id}</DBInstanceIdentifier><IsClusterWriter>${m.isWriter}</IsClusterWriter></DBClusterMember>`)
      .join('');
    return `<DBCluster><DBClusterIdentifier>${lab.clusterIdentifier}</DBClusterIdentifier><Status>available</Status><Endpoint>${lab.clusterEndpoint}</Endpoint><ReaderEndpoint>${lab.readerEndpoint}</ReaderEndpoint><Port>${lab.port}</Port><Engine>aurora-mysql</Engine><DBClusterMembers>${members}</DBClusterMembers></DBCluster>`;
  };
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', async () => {
      const params = Object.fromEntries(new URLSearchParams(body));
      requests.push(params);
      const reply = (status: number, xml: string) => res.writeHead(status, { 'content-type': 'text/xml' }).end(xml);
      if (params.DBClusterIdentifier !== lab.clusterIdentifier) {
        return reply(
          404,
          `<ErrorResponse><Error><Type>Sender</Type><Code>DBClusterNotFoundFault</Code><Message>DBCluster ${params.DBClusterIdentifier} not found.</Message></Error><RequestId>r</RequestId></ErrorResponse>`,
        );
      }
      if (params.Action === 'DescribeDBClusters')
        return reply(
          200,
          `<DescribeDBClustersResponse><DescribeDBClustersResult><DBClusters>${await xmlCluster()}</DBClusters></DescribeDBClustersResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></DescribeDBClustersResponse>`,
        );
      if (params.Action === 'FailoverDBCluster') {
        await lab.failover(params.DBClusterIdentifier);
        return reply(
          200,
          `<FailoverDBClusterResponse><FailoverDBClusterResult>${await xmlCluster()}</FailoverDBClusterResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></FailoverDBClusterResponse>`,
        );
      }
      reply(400, '<ErrorResponse><Error><Code>InvalidAction</Code><Message>no</Message></Error></ErrorResponse>');
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, requests, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

let lab: AuroraLab;
let rds: Awaited<ReturnType<typeof fakeRds>>;
let awsEnv: Record<string, string>;
beforeAll(async () => {
  lab = await AuroraLab.start({ block: 81, script: { swapAfterMs: 200, dnsLagMs: 1000, restartMs: 600 } });
  rds = await fakeRds(lab);
  awsEnv = {
    AWS_ENDPOINT_URL_RDS: rds.url,
    AWS_REGION: 'ap-northeast-2',
    AWS_ACCESS_KEY_ID: 'AKIDLAB',
    AWS_SECRET_ACCESS_KEY: 'lab',
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_PROFILE: '',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  };
});
afterAll(async () => {
  rds.server.close();
  await lab.stop();
});

describe('ipdrift failover-drill', () => {
  it('prints its usage; refuses bad arguments with exit 2', async () => {
    // Prepare / Act: independent runs, side by side.
    const [help, missing, engine, resolver] = await Promise.all([
      cli(['failover-drill', '--help']),
      cli(['failover-drill']),
      cli(['failover-drill', '--cluster', 'orders', '--engine', 'oracle']),
      cli(['failover-drill', '--cluster', 'orders', '--resolver', 'dns.example']),
    ]);
    // Assess
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: ipdrift failover-drill');
    expect([missing.code, engine.code, resolver.code]).toEqual([2, 2, 2]);
    expect(missing.stderr).toContain('--cluster is required');
    expect(engine.stderr).toContain('--engine: expected mysql or postgres, got "oracle"');
  });

  it('without --yes prints the plan, calls nothing and never loads the AWS SDK', async () => {
    // Prepare
    const before = rds.requests.length;
    // Act
    const [text, json, control] = await Promise.all([
      cli(['failover-drill', '--cluster', 'orders', '--region', 'ap-northeast-2'], { noSdk: true, env: awsEnv }),
      cli(['failover-drill', '--cluster', 'orders', '--json', '--deadline', '30s'], { noSdk: true, env: awsEnv }),
      cli(['failover-drill', '--cluster', 'orders', '--yes'], { noSdk: true, env: awsEnv }),
    ]);
    // Assess
    expect(text.code).toBe(0);
    expect(text.stdout).toContain('Dry run: nothing was called');
    expect(text.stdout).toContain('FailoverDBCluster orders: THE WRITER RESTARTS');
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({ dryRun: true, cluster: 'orders', sampling: { deadlineMs: 30_000, dnsEveryMs: 250, apiEveryMs: 1000 } });
    expect(rds.requests.length).toBe(before);
    // The hook works: the real path does load the SDK, and is refused here.
    expect(control.code).toBe(3);
    expect(control.stderr).toContain('AWS SDK loaded: @aws-sdk/client-rds');
  });

  it('with --yes: DescribeDBClusters, FailoverDBCluster, the live timeline and a settled summary', async () => {
    // Prepare
    rds.requests.length = 0;
    // Act
    const r = await cli(['failover-drill', '--cluster', 'orders', '--resolver', lab.dns.address, '--yes', '--json', '--deadline', '20s'], { env: awsEnv });
    // Assess
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc.before.writer).toBe('orders-instance-1');
    expect(doc.cluster).toMatchObject({ endpoint: lab.clusterEndpoint, port: lab.port, engine: 'aurora-mysql' });
    expect(doc.timeline).toMatchObject({ settled: true, previousWriter: 'orders-instance-1', newWriter: 'orders-instance-2' });
    expect(Math.abs(doc.timeline.dnsLagMs - 1000)).toBeLessThanOrEqual(250);
    const actions = rds.requests.map((p) => p.Action);
    expect(actions.slice(0, 3)).toEqual(['DescribeDBClusters', 'DescribeDBClusters', 'FailoverDBCluster']);
    expect(actions.filter((a) => a === 'FailoverDBCluster')).toHaveLength(1);
    expect(rds.requests.find((p) => p.Action === 'FailoverDBCluster')).toMatchObject({ DBClusterIdentifier: 'orders', Version: '2014-10-31' });
    expect(rds.requests.find((p) => p.Action === 'FailoverDBCluster')).not.toHaveProperty('TargetDBInstanceIdentifier');
  });

  it('an unknown cluster exits 2 with the reason, and fails nothing over', async () => {
    // Prepare
    rds.requests.length = 0;
    // Act
    const r = await cli(['failover-drill', '--cluster', 'billing', '--yes'], { env: awsEnv });
    // Assess
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('no DB cluster "billing"');
    expect(rds.requests.map((p) => p.Action)).toEqual(['DescribeDBClusters']);
  });
});

describe('ipdrift demo aurora', () => {
  it('plays a failover in the lab and measures the injected lag, without the AWS SDK', async () => {
    // Prepare / Act
    const [json, text] = await Promise.all([
      cli(['demo', 'aurora', '--lag', '0.5s', '--json'], { noSdk: true }),
      cli(['demo', 'aurora', '--lag', '500ms', '--engine', 'postgres'], { noSdk: true }),
    ]);
    // Assess
    expect(json.code).toBe(0);
    const doc = JSON.parse(json.stdout);
    expect(doc.timeline.settled).toBe(true);
    expect(Math.abs(doc.timeline.dnsLagMs - 500)).toBeLessThanOrEqual(250);
    expect(doc.lab.injectedLagMs).toBe(500);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain('DNS names the new writer');
    expect(text.stdout).toMatch(/injected lag 500 ms, measured \d+ ms/);
  });
});
