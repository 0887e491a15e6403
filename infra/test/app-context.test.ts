/** The app's context parsing and the Lambda asset staging: no synth, milliseconds each. */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/core/config.ts';
import { CONTEXT_DEFAULTS, ContextError, contextFromArgv, settingsFromContext } from '../lib/app-context.ts';
import { BUNDLE_ENTRIES, BUNDLE_FILES, stageLambdaBundle } from '../lib/lambda-bundle.ts';
import { EXAMPLE_CONFIG, VPC_IDS } from './helpers.ts';

/** The repository root: the app resolves relative paths from the working directory. */
const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const reader = (ctx: Record<string, unknown>) => (key: string) => ctx[key];

/** Temp directories this file made, removed at the end. */
const made: string[] = [];
const tempDir = (prefix: string) => {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  made.push(dir);
  return dir;
};
afterAll(() => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

describe('settingsFromContext', () => {
  it('defaults to the example config, stack "Ipdrift", no VPC, no subscription', () => {
    // Act
    const settings = settingsFromContext(reader({}), ROOT);

    // Assess
    expect(settings.stackName).toBe(CONTEXT_DEFAULTS.stackName);
    expect(settings.configPath).toBe(join(ROOT, 'infra/example.config.json'));
    expect(settings.props).toEqual({ config: EXAMPLE_CONFIG, alarmSubscriptions: {} });
  });

  it('reads the VPC ids, comma lists (spaces tolerated), subscriptions, codePath and stack name', () => {
    const ctx = {
      vpcId: VPC_IDS.vpcId,
      subnetIds: ` ${VPC_IDS.subnetIds.join(' , ')} `,
      availabilityZones: VPC_IDS.availabilityZones.join(','),
      securityGroupId: VPC_IDS.securityGroupId,
      alarmEmail: 'oncall@example.com',
      alarmHttpsUrl: 'https://pager.example.com/sns',
      eventsEmail: 'changes@example.com',
      codePath: 'build/lambda',
      stackName: 'IpdriftProd',
    };

    const settings = settingsFromContext(reader(ctx), ROOT);

    expect(settings.stackName).toBe('IpdriftProd');
    expect(settings.props.vpc).toEqual({ ...VPC_IDS, subnetIds: [...VPC_IDS.subnetIds], availabilityZones: [...VPC_IDS.availabilityZones] });
    expect(settings.props.alarmSubscriptions).toEqual({ email: 'oncall@example.com', httpsUrl: 'https://pager.example.com/sns' });
    expect(settings.props.eventSubscriptions).toEqual({ email: 'changes@example.com' });
    expect(settings.props.codePath).toBe(join(ROOT, 'build/lambda'));
  });

  it('takes the shard size from -c shardSize=N (a string) or cdk.json (a number)', () => {
    // Act / Assess
    expect(settingsFromContext(reader({ shardSize: '250' }), ROOT).props.shardSize).toBe(250);
    expect(settingsFromContext(reader({ shardSize: 40 }), ROOT).props.shardSize).toBe(40);
  });

  it('reads the flags outsideVpc and reserveConcurrency from -c (strings) or cdk.json (booleans), and refuses anything else', () => {
    expect(settingsFromContext(reader({ outsideVpc: 'true', reserveConcurrency: true }), ROOT).props).toMatchObject({
      outsideVpc: true,
      reserveConcurrency: true,
    });
    expect(settingsFromContext(reader({ outsideVpc: 'false' }), ROOT).props.outsideVpc).toBeUndefined();
    expect(() => settingsFromContext(reader({ reserveConcurrency: 'yes' }), ROOT)).toThrow('context reserveConcurrency: expected true or false, got "yes"');
  });

  it('reads endpoints=create with the services the VPC already has, and endpoints=existing (nothing created)', () => {
    // Act
    const some = settingsFromContext(reader({ vpcId: VPC_IDS.vpcId, subnetIds: 'subnet-1', endpoints: 'create', existingEndpoints: 'sns, dynamodb' }), ROOT);
    const none = settingsFromContext(reader({ vpcId: VPC_IDS.vpcId, subnetIds: 'subnet-1', endpoints: 'existing' }), ROOT);
    // Assess
    expect(some.props.vpc).toEqual({ vpcId: VPC_IDS.vpcId, subnetIds: ['subnet-1'], createEndpoints: true, existingEndpoints: ['sns', 'dynamodb'] });
    expect(none.props.vpc).toEqual({ vpcId: VPC_IDS.vpcId, subnetIds: ['subnet-1'] });
  });

  it('accepts lists as JSON arrays too (cdk.json context)', () => {
    const settings = settingsFromContext(reader({ vpcId: VPC_IDS.vpcId, subnetIds: [...VPC_IDS.subnetIds] }), ROOT);

    expect(settings.props.vpc).toEqual({ vpcId: VPC_IDS.vpcId, subnetIds: [...VPC_IDS.subnetIds] });
  });

  it.each([
    [{ subnetIds: 'subnet-1' }, /without vpcId/],
    [{ securityGroupId: 'sg-1' }, /without vpcId/],
    [{ vpcId: 'vpc-1' }, /needs subnetIds/],
    [{ vpcId: 'vpc-1', subnetIds: ' , ' }, /needs subnetIds/],
    [{ alarmEmail: 42 }, /alarmEmail: expected a string/],
    [{ config: 'no/such/file.json' }, /cannot read/],
    [{ shardSize: '0' }, /shardSize: expected a positive whole number of targets, got "0"/],
    [{ shardSize: 'many' }, /shardSize: expected a positive whole number/],
    [{ vpcId: 'vpc-1', subnetIds: 'subnet-1', endpoints: 'yes' }, /endpoints: expected "create" or "existing", got "yes"/],
    [
      { vpcId: 'vpc-1', subnetIds: 'subnet-1', endpoints: 'create', existingEndpoints: 'sns,s3' },
      /existingEndpoints: unknown service "s3" \(expected some of sns, monitoring/,
    ],
    [{ vpcId: 'vpc-1', subnetIds: 'subnet-1', existingEndpoints: 'sns' }, /existingEndpoints is for endpoints=create/],
  ])('refuses %j', (ctx, message) => {
    const act = () => settingsFromContext(reader(ctx), ROOT);

    expect(act).toThrow(ContextError);
    expect(act).toThrow(message);
  });

  it('refuses an invalid config file, naming the file and the path in it', () => {
    const dir = tempDir('ipdrift-ctx-');
    const file = join(dir, 'bad.json');
    writeFileSync(file, JSON.stringify({ targets: [{ name: 'a', type: 'elb', host: 'h.example', port: 0 }] }));

    const act = () => settingsFromContext(reader({ config: file }), ROOT);

    expect(act).toThrow(ConfigError);
    expect(act).toThrow(/bad\.json[\s\S]*targets\[0\]\.port/);
  });
});

describe('contextFromArgv', () => {
  it('takes -c, --context and --context= pairs like the aws-cdk CLI; values may contain "="', () => {
    const argv = ['-c', 'config=my.json', '--context', 'vpcId=vpc-1', '--context=alarmHttpsUrl=https://h.example/?a=b', 'ignored'];

    expect(contextFromArgv(argv)).toEqual({ config: 'my.json', vpcId: 'vpc-1', alarmHttpsUrl: 'https://h.example/?a=b' });
  });

  it.each([[['-c']], [['-c', 'novalue']], [['-c', '=x']]])('refuses %j', (argv) => {
    expect(() => contextFromArgv(argv)).toThrow(ContextError);
  });
});

describe('stageLambdaBundle', () => {
  const makeDist = (withMap: boolean) => {
    const dist = tempDir('ipdrift-dist-');
    writeFileSync(join(dist, BUNDLE_FILES.entry), 'export const handler = async () => {};\n');
    if (withMap) writeFileSync(join(dist, BUNDLE_FILES.sourceMap), '{"version":3}');
    writeFileSync(join(dist, 'failover-watch.mjs'), '// another entry: not part of this function\n');
    return dist;
  };

  it('puts the bundle, its source map and the config side by side, and nothing else', () => {
    const dist = makeDist(true);

    const staged = stageLambdaBundle(dist, '{"targets":[]}\n');
    made.push(staged);

    expect(readdirSync(staged).sort()).toEqual([BUNDLE_FILES.config, BUNDLE_FILES.entry, BUNDLE_FILES.sourceMap].sort());
    expect(readFileSync(join(staged, BUNDLE_FILES.config), 'utf8')).toBe('{"targets":[]}\n');
    expect(readFileSync(join(staged, BUNDLE_FILES.entry), 'utf8')).toBe(readFileSync(join(dist, BUNDLE_FILES.entry), 'utf8'));
  });

  it('adds an extra entry (the failover watcher beside the monitor) with its source map', () => {
    const dist = makeDist(true);
    writeFileSync(join(dist, 'failover-watch.mjs.map'), '{"version":3}');

    const staged = stageLambdaBundle(dist, '{}', BUNDLE_ENTRIES.monitor, [BUNDLE_ENTRIES.failoverWatch]);
    made.push(staged);

    expect(readdirSync(staged).sort()).toEqual(
      [BUNDLE_FILES.config, BUNDLE_FILES.entry, BUNDLE_FILES.sourceMap, 'failover-watch.mjs', 'failover-watch.mjs.map'].sort(),
    );
    expect(readFileSync(join(staged, 'failover-watch.mjs'), 'utf8')).toBe(readFileSync(join(dist, 'failover-watch.mjs'), 'utf8'));
    expect(stageLambdaBundle(dist, '{}')).not.toBe(staged);
  });

  it('brings the chunks directory along (the entries import their shared code from it)', () => {
    const dist = makeDist(false);
    mkdirSync(join(dist, BUNDLE_FILES.chunkDir));
    writeFileSync(join(dist, BUNDLE_FILES.chunkDir, 'chunk-AB12.mjs'), 'export const x = 1;\n');
    writeFileSync(join(dist, BUNDLE_FILES.chunkDir, 'chunk-AB12.mjs.map'), '{"version":3}');

    const staged = stageLambdaBundle(dist, '{}');
    made.push(staged);

    expect(readdirSync(staged).sort()).toEqual([BUNDLE_FILES.chunkDir, BUNDLE_FILES.config, BUNDLE_FILES.entry].sort());
    expect(readdirSync(join(staged, BUNDLE_FILES.chunkDir)).sort()).toEqual(['chunk-AB12.mjs', 'chunk-AB12.mjs.map']);
    expect(readFileSync(join(staged, BUNDLE_FILES.chunkDir, 'chunk-AB12.mjs'), 'utf8')).toBe('export const x = 1;\n');
  });

  it('works without a source map', () => {
    const staged = stageLambdaBundle(makeDist(false), '{}');
    made.push(staged);

    expect(readdirSync(staged).sort()).toEqual([BUNDLE_FILES.config, BUNDLE_FILES.entry].sort());
  });

  it('is content-addressed: same inputs, same directory; another config, another directory', () => {
    const dist = makeDist(false);

    const a = stageLambdaBundle(dist, '{"a":1}');
    const b = stageLambdaBundle(dist, '{"a":1}');
    const c = stageLambdaBundle(dist, '{"a":2}');
    made.push(a, c);

    expect(b).toBe(a);
    expect(c).not.toBe(a);
  });
});
