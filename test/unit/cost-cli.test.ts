/** `ipdrift cost` through the CLI's own dispatcher: text, JSON, and exit 2 on bad input. */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/main.ts';

const EXAMPLE = join(import.meta.dirname, '../../infra/example.config.json');
const PRICES = join(import.meta.dirname, '../fixtures/prices');

/** Runs the CLI in-process, capturing what it prints. */
async function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const log = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void out.push(a.join(' ')));
  const error = vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void err.push(a.join(' ')));
  try {
    const code = await main(args);
    return { code, stdout: out.join('\n'), stderr: err.join('\n') };
  } finally {
    log.mockRestore();
    error.mockRestore();
  }
}

describe('ipdrift cost', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ipdrift-cost-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('prints every line, the per-target figure, the canary comparison and the goal', async () => {
    // Act
    const r = await run(['cost', '--config', EXAMPLE]);
    // Assess
    expect(r.code).toBe(0);
    for (const label of [
      'Lambda requests',
      'Lambda compute',
      'CloudWatch custom metrics (metrics: "standard")',
      'CloudWatch PutMetricData',
      'CloudWatch alarms on the targets',
      'CloudWatch dashboard',
      'DynamoDB writes',
      'DynamoDB reads',
      'SNS publishes',
      'KMS key',
      'per target',
      'CloudWatch Synthetics instead',
    ]) {
      expect(r.stdout).toContain(label);
    }
    expect(r.stdout).toMatch(/^ {4}ProbeFailures \(elb, web-tier, aurora\) +3 metrics +0\.90$/m);
    expect(r.stdout).toMatch(/goal <= \$1\.00 per target-month all-in at 1-minute checks: MISSED/);
    expect(r.stdout).toMatch(/with "metrics": "minimal": /);
    expect(r.stdout).not.toContain('VPC interface endpoints');
  });

  it('--json gives the same estimate as data, with VPC endpoints and another metric set when asked', async () => {
    // Act
    const r = await run(['cost', '--config', EXAMPLE, '--json', '--vpc-endpoints', '3', '--metrics', 'minimal', '--interval', '5m', '--duration-ms', '800']);
    // Assess
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout) as {
      metricSet: string;
      checksPerMonth: number;
      invocationMs: number;
      lines: Array<{ id: string; quantity: number }>;
      alternative: { metricSet: string };
      prices: { region: string };
    };
    expect(doc.metricSet).toBe('minimal');
    expect(doc.alternative.metricSet).toBe('standard');
    expect(doc.checksPerMonth).toBe(8760);
    expect(doc.invocationMs).toBe(800);
    expect(doc.lines.find((l) => l.id === 'vpc-endpoints')!.quantity).toBe(3 * 2 * 730);
    expect(doc.prices.region).toBe('us-east-1');
  });

  it('--vpc-endpoints create prices exactly the interface endpoints -c endpoints=create makes (SNS, CloudWatch, RDS for Aurora)', async () => {
    const r = await run(['cost', '--config', EXAMPLE, '--json', '--vpc-endpoints', 'create']);
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout) as { lines: { id: string; quantity: number }[] };
    expect(doc.lines.find((l) => l.id === 'vpc-endpoints')!.quantity).toBe(3 * 2 * 730);
  });

  it("takes prices from a file and says when they are not the asked region's", async () => {
    // Act
    const own = await run(['cost', '--config', EXAMPLE, '--prices', join(PRICES, 'eu-west-1.json'), '--region', 'eu-west-1']);
    const other = await run(['cost', '--config', EXAMPLE, '--region', 'ap-northeast-2']);
    // Assess
    expect(own.stdout).toContain('prices: eu-west-1 as of 2026-01-15');
    expect(own.stdout).toMatch(/CloudWatch dashboard +1 dashboard +3\.50/);
    expect(own.stdout).not.toContain('note: prices are');
    expect(other.stdout).toContain("note: prices are us-east-1's, not ap-northeast-2's");
  });

  it('exits 2 on a bad prices file, naming each bad path', async () => {
    // Act
    const r = await run(['cost', '--config', EXAMPLE, '--prices', join(PRICES, 'invalid.json')]);
    // Assess
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('invalid.json: invalid prices');
    expect(r.stderr).toContain('prices.kmsKey: expected a non-negative number of US dollars');
    expect(r.stderr).toContain('prices: unknown key "lambdaGbSecond"');
  });

  it.each([
    [['--interval', '90s'], /--interval: expected whole minutes from 1m to 60m/],
    [['--memory-mb', '64'], /--memory-mb: Lambda takes 128-10240/],
    [['--shard-size', '0'], /--shard-size: expected a positive whole number/],
    [['--metrics', 'all'], /--metrics: expected "standard" or "minimal"/],
    [['--region', 'moon-1'], /--region: expected an AWS region/],
    [['--prices', '/nonexistent/prices.json'], /prices\.json: invalid prices\n {2}\(root\): cannot read the file \(no such file\)/],
  ])('exits 2 on %j', async (flags, message) => {
    // Act
    const r = await run(['cost', '--config', EXAMPLE, ...flags]);
    // Assess
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
  });

  it('exits 2 without --config, or with a config that does not validate', async () => {
    // Prepare
    const bad = join(dir, 'bad.json');
    await writeFile(bad, '{"metrics":"lots","targets":[{"name":"a","type":"elb","host":"a.example.com","port":1}]}');
    // Act
    const none = await run(['cost']);
    const invalid = await run(['cost', '--config', bad]);
    // Assess
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('--config FILE is required');
    expect(invalid.code).toBe(2);
    expect(invalid.stderr).toContain('metrics: expected "standard" or "minimal"');
  });
});
