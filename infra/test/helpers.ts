/** Shared fixtures of the infra tests: a stub bundle, configs, one synth per call. */
import { App, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { PolicyViolation } from 'aws-cdk-lib';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ConfigInput } from '../../src/core/config.ts';
import { BUNDLE_ENTRIES } from '../lib/lambda-bundle.ts';
import { MonitorStack } from '../lib/monitor-stack.ts';
import type { MonitorStackProps } from '../lib/monitor-stack.ts';

/** The example config the app uses by default. */
export const EXAMPLE_CONFIG = JSON.parse(readFileSync(new URL('../example.config.json', import.meta.url), 'utf8')) as ConfigInput;

/** Two ELB-side targets, no Aurora: the function must get no rds permission. */
export const NO_AURORA_CONFIG: ConfigInput = {
  targets: [
    { name: 'app-alb', type: 'elb', host: 'internal-app-123.eu-west-1.elb.amazonaws.com', port: 443, probe: { protocol: 'https', path: '/health' } },
    { name: 'web', type: 'web-tier', url: 'https://10.0.1.10:8443/health', upstream: 'app-alb' },
  ],
};

/** Two Aurora clusters, one in another region, with a custom DNS lag threshold; a resolver on 5353. */
export const TWO_CLUSTERS_CONFIG: ConfigInput = {
  resolvers: ['10.0.0.2', '10.0.0.3:5353'],
  targets: [
    { name: 'orders-db', type: 'aurora', host: 'orders.cluster-abc.eu-west-1.rds.amazonaws.com', port: 5432, engine: 'postgres', clusterIdentifier: 'orders' },
    {
      name: 'users-db',
      type: 'aurora',
      host: 'users.cluster-def.us-east-2.rds.amazonaws.com',
      port: 3306,
      engine: 'mysql',
      clusterIdentifier: 'users',
      region: 'us-east-2',
      dnsLagWarnSeconds: 30,
    },
  ],
};

/** Realistic-looking ids (CloudFormation's own validation checks their format). */
export const VPC_IDS = {
  vpcId: 'vpc-0123456789abcdef0',
  subnetIds: ['subnet-0aaaaaaaaaaaaaaa1', 'subnet-0bbbbbbbbbbbbbbb2'],
  securityGroupId: 'sg-0123456789abcdef0',
  availabilityZones: ['eu-west-1a', 'eu-west-1b'],
} as const;

let stubDir: string | undefined;
/**
 * A directory with a stub `<entry>.mjs` per BUNDLE_ENTRIES (`monitor.mjs`, `scheduler.mjs`, `worker.mjs`,
 * `failover-watch.mjs`), standing in for `dist/` so the infra tests neither
 * need nor wait for the esbuild bundle. The stack is given it as `codePath`, the same prop a
 * deployer uses: no test-only branch in the stack.
 */
export function stubCodePath(): string {
  if (stubDir) return stubDir;
  // Fixed name and content: every run and worker reuses it, and so reuses the staged asset.
  stubDir = join(tmpdir(), 'ipdrift-infra-test-stub');
  mkdirSync(stubDir, { recursive: true });
  for (const entry of Object.values(BUNDLE_ENTRIES)) writeFileSync(join(stubDir, `${entry}.mjs`), 'export const handler = async () => ({ stub: true });\n');
  return stubDir;
}

/** One synthesized stack. */
export interface Synth {
  readonly app: App;
  readonly stack: MonitorStack;
  readonly template: Template;
}

/** Builds a MonitorStack (stub bundle unless `codePath` is given) and synthesizes it once. */
export function synth(props: Partial<MonitorStackProps> = {}, stackName = 'Ipdrift'): Synth {
  const app = new App();
  // Most tests look at resources, not at the VPC question: outside a VPC unless they say otherwise.
  const stack = new MonitorStack(app, stackName, { config: EXAMPLE_CONFIG, codePath: stubCodePath(), ...(props.vpc ? {} : { outsideVpc: true }), ...props });
  return { app, stack, template: Template.fromStack(stack) };
}

/** Logical ids of the failover watcher's resources, alarms and output all start with this (its construct id). */
export const FAILOVER_WATCH_ID_PREFIX = 'FailoverWatch';

/**
 * The template without the failover watcher (present with aurora targets): the monitor's own
 * resources, for the tests that count and compare them; infra/test/failover-watch.test.ts
 * holds the watcher's. The dashboard is shared and stays.
 */
export function withoutFailoverWatch(template: Template): Template {
  const json = template.toJSON() as { Resources?: Record<string, unknown>; Outputs?: Record<string, unknown> };
  const drop = <T>(o: Record<string, T> | undefined) =>
    o ? Object.fromEntries(Object.entries(o).filter(([id]) => !id.startsWith(FAILOVER_WATCH_ID_PREFIX))) : o;
  return Template.fromJSON({ ...json, Resources: drop(json.Resources), ...(json.Outputs ? { Outputs: drop(json.Outputs) } : {}) });
}

/** cdk-nag AwsSolutions findings left after the stack's acknowledgments (errors and warnings). */
export function nagViolations(stack: MonitorStack): PolicyViolation[] {
  return [...new AwsSolutionsChecks(undefined, { verbose: true }).validateScope(stack).violations];
}

/** A policy statement as synthesized (values are CloudFormation JSON). */
export type Statement = Record<string, unknown>;

/** Every statement of every identity policy in the template (managed, inline, role inline). */
export function identityStatements(template: Template): Statement[] {
  const out: Statement[] = [];
  for (const type of ['AWS::IAM::Policy', 'AWS::IAM::ManagedPolicy']) {
    for (const r of Object.values(template.findResources(type)) as Array<{ Properties: { PolicyDocument: { Statement: Statement[] } } }>) {
      out.push(...r.Properties.PolicyDocument.Statement);
    }
  }
  for (const r of Object.values(template.findResources('AWS::IAM::Role')) as Array<{
    Properties: { Policies?: Array<{ PolicyDocument: { Statement: Statement[] } }> };
  }>) {
    for (const p of r.Properties.Policies ?? []) out.push(...p.PolicyDocument.Statement);
  }
  return out;
}

/** Actions of a statement as a list. */
export function actionsOf(s: Statement): string[] {
  const a = s.Action;
  return Array.isArray(a) ? (a as string[]) : [a as string];
}

/** The only resource of a given type in the template, with its logical id. */
export function onlyResource(template: Template, type: string): { id: string; resource: { Properties: Record<string, unknown> } & Record<string, unknown> } {
  const found = Object.entries(template.findResources(type));
  if (found.length !== 1) throw new Error(`expected one ${type}, found ${found.length}`);
  const [id, resource] = found[0]!;
  return { id, resource: resource as { Properties: Record<string, unknown> } };
}

/**
 * The dashboard body as an object: the template holds it as an Fn::Join of JSON text and
 * tokens (region), so the tokens are replaced by a placeholder before parsing.
 */
export function dashboardBody(template: Template): { widgets: Array<Record<string, any>> } {
  const { resource } = onlyResource(template, 'AWS::CloudWatch::Dashboard');
  const body = resource.Properties.DashboardBody as { 'Fn::Join': [string, unknown[]] } | string;
  const text = typeof body === 'string' ? body : body['Fn::Join'][1].map((p) => (typeof p === 'string' ? p : 'TOKEN')).join('');
  return JSON.parse(text) as { widgets: Array<Record<string, any>> };
}

/** Acknowledged findings in a stack: construct path, finding id, reason. */
export function acknowledgments(stack: MonitorStack): Array<{ path: string; id: string; reason: string }> {
  const out: Array<{ path: string; id: string; reason: string }> = [];
  for (const c of stack.node.findAll()) {
    for (const m of c.node.metadata) {
      if (m.type !== Validations.ACKNOWLEDGED_RULES_METADATA_KEY) continue;
      for (const [id, reason] of Object.entries(m.data as Record<string, string>)) {
        const bare = id.replace(/^annotation::/i, '');
        if (bare.startsWith('AwsSolutions-')) out.push({ path: c.node.path, id: bare, reason });
      }
    }
  }
  return out;
}

/** A CloudFormation `Ref`. */
export const ref = (id: string) => ({ Ref: id });

/** The identity-policy statements attached to one role. */
export function statementsOfRole(template: Template, roleId: string): Statement[] {
  const out: Statement[] = [];
  for (const r of Object.values(template.findResources('AWS::IAM::Policy')) as Array<{
    Properties: { Roles: unknown[]; PolicyDocument: { Statement: Statement[] } };
  }>) {
    if (r.Properties.Roles.some((x) => JSON.stringify(x) === JSON.stringify(ref(roleId)))) out.push(...r.Properties.PolicyDocument.Statement);
  }
  return out;
}
/** A CloudFormation `Fn::GetAtt [id, Arn]`. */
export const arnOf = (id: string) => ({ 'Fn::GetAtt': [id, 'Arn'] });
/** arn:PARTITION:rds:REGION:ACCOUNT:cluster:ID as CloudFormation builds it (region: the stack's unless given). */
export const clusterArn = (id: string, region?: string) => ({
  'Fn::Join': [
    '',
    region === undefined
      ? ['arn:', ref('AWS::Partition'), ':rds:', ref('AWS::Region'), ':', ref('AWS::AccountId'), `:cluster:${id}`]
      : ['arn:', ref('AWS::Partition'), `:rds:${region}:`, ref('AWS::AccountId'), `:cluster:${id}`],
  ],
});

/** Values of CloudFormation's pseudo parameters, for evaluating a template offline. */
export type PseudoParams = Partial<Record<'AWS::Partition' | 'AWS::Region' | 'AWS::AccountId', string>>;

/** `value` with every `Ref` to a pseudo parameter and every `Fn::Join` of those resolved. */
export function resolvePseudo(value: unknown, params: PseudoParams): unknown {
  if (Array.isArray(value)) return value.map((v) => resolvePseudo(v, params));
  if (value === null || typeof value !== 'object') return value;
  const o = value as Record<string, unknown>;
  if (typeof o.Ref === 'string' && o.Ref in params) return params[o.Ref as keyof PseudoParams];
  if (Array.isArray(o['Fn::Join'])) {
    const [sep, parts] = o['Fn::Join'] as [string, unknown[]];
    return parts.map((p) => resolvePseudo(p, params)).join(sep);
  }
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, resolvePseudo(v, params)]));
}

/**
 * Whether an EventBridge event matches a pattern, for the pattern forms the stack uses: each
 * key's list of literals matches when the event's value (or any element of an array value) is
 * one of them; nested objects match recursively. https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns.html
 */
export function matchesPattern(pattern: Record<string, unknown>, event: Record<string, unknown>): boolean {
  return Object.entries(pattern).every(([key, want]) => {
    const got = event[key];
    if (Array.isArray(want)) {
      const values = Array.isArray(got) ? got : [got];
      return values.some((v) => want.includes(v));
    }
    return (
      typeof want === 'object' &&
      want !== null &&
      typeof got === 'object' &&
      got !== null &&
      matchesPattern(want as Record<string, unknown>, got as Record<string, unknown>)
    );
  });
}
