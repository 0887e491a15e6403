/**
 * A synthesized template read as AWS would after a deploy: CloudFormation's intrinsic functions
 * resolved to concrete names and ARNs (in one made-up account and region), a role's policies
 * gathered, a function's environment as its handler sees it. Physical names are the logical ids,
 * so names in policies and names in the environment agree, as they do in a real stack.
 */
import type { Template } from 'aws-cdk-lib/assertions';

export const ACCOUNT = '123456789012';
export const REGION = 'us-east-1';
const PARTITION = 'aws';

type Resources = Record<string, { Type: string; Properties?: Record<string, unknown> }>;

/** An IAM policy document as the simulator takes it. */
export interface PolicyDocument {
  Version: string;
  Statement: Record<string, unknown>[];
}

/** The template's resources, and a resolver of intrinsic functions over them. */
export class ResolvedTemplate {
  readonly resources: Resources;

  constructor(
    template: Template,
    readonly stackName: string,
  ) {
    this.resources = template.toJSON().Resources as Resources;
  }

  /** The value with every Ref, Fn::GetAtt, Fn::Join, Fn::Select, Fn::Split replaced. */
  resolve(value: unknown): unknown {
    if (Array.isArray(value)) return value.map((v) => this.resolve(v));
    if (value === null || typeof value !== 'object') return value;
    const o = value as Record<string, unknown>;
    if ('Ref' in o) return this.ref(String(o.Ref));
    if ('Fn::GetAtt' in o) {
      const [id, attr] = o['Fn::GetAtt'] as [string, string];
      return this.attribute(id, attr);
    }
    if ('Fn::Join' in o) {
      const [sep, parts] = o['Fn::Join'] as [string, unknown[]];
      return (this.resolve(parts) as unknown[]).join(sep);
    }
    if ('Fn::Select' in o) {
      const [i, list] = o['Fn::Select'] as [number, unknown];
      return (this.resolve(list) as unknown[])[Number(i)];
    }
    if ('Fn::Split' in o) {
      const [sep, s] = o['Fn::Split'] as [string, unknown];
      return String(this.resolve(s)).split(sep);
    }
    return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, this.resolve(v)]));
  }

  /** What `Ref` returns for each resource type (CloudFormation's "Return values"). */
  ref(id: string): string {
    if (id === 'AWS::Partition') return PARTITION;
    if (id === 'AWS::Region') return REGION;
    if (id === 'AWS::AccountId') return ACCOUNT;
    if (id === 'AWS::URLSuffix') return 'amazonaws.com';
    if (id === 'AWS::StackName') return this.stackName;
    const type = this.typeOf(id);
    if (type === 'AWS::SNS::Topic') return `arn:${PARTITION}:sns:${REGION}:${ACCOUNT}:${id}`;
    return id;
  }

  /** What `Fn::GetAtt` returns for the attributes these stacks read. */
  attribute(id: string, attr: string): unknown {
    const type = this.typeOf(id);
    const arns: Record<string, string> = {
      'AWS::DynamoDB::Table': `arn:${PARTITION}:dynamodb:${REGION}:${ACCOUNT}:table/${id}`,
      'AWS::KMS::Key': `arn:${PARTITION}:kms:${REGION}:${ACCOUNT}:key/${id}`,
      'AWS::Logs::LogGroup': `arn:${PARTITION}:logs:${REGION}:${ACCOUNT}:log-group:${id}:*`,
      'AWS::IAM::Role': `arn:${PARTITION}:iam::${ACCOUNT}:role/${id}`,
      'AWS::Lambda::Function': `arn:${PARTITION}:lambda:${REGION}:${ACCOUNT}:function:${id}`,
      'AWS::SNS::Topic': `arn:${PARTITION}:sns:${REGION}:${ACCOUNT}:${id}`,
      'AWS::StepFunctions::StateMachine': `arn:${PARTITION}:states:${REGION}:${ACCOUNT}:stateMachine:${id}`,
      'AWS::SQS::Queue': `arn:${PARTITION}:sqs:${REGION}:${ACCOUNT}:${id}`,
      'AWS::Events::Rule': `arn:${PARTITION}:events:${REGION}:${ACCOUNT}:rule/${id}`,
    };
    if (attr === 'Arn' && arns[type]) return arns[type];
    if (type === 'AWS::EC2::SecurityGroup' && attr === 'GroupId') return `sg-${id.slice(0, 17).toLowerCase()}`;
    if (type === 'AWS::EC2::VPCEndpoint' && attr === 'DnsEntries') return [`Z7HUB22UULQXV:vpce-${id.toLowerCase()}.${REGION}.vpce.amazonaws.com`];
    if (type === 'AWS::Logs::LogGroup' && attr === 'LogGroupName') return id;
    throw new Error(`iam-template: no value for Fn::GetAtt ${id}.${attr} (${type})`);
  }

  typeOf(id: string): string {
    const r = this.resources[id];
    if (!r) throw new Error(`iam-template: no resource ${id}`);
    return r.Type;
  }

  /** The logical ids of the resources of one type. */
  idsOf(type: string): string[] {
    return Object.entries(this.resources)
      .filter(([, r]) => r.Type === type)
      .map(([id]) => id);
  }

  /** Every policy attached to a role (its inline Policies and the AWS::IAM::Policy resources naming it), resolved. */
  rolePolicies(roleId: string): PolicyDocument[] {
    const role = this.resources[roleId]!;
    const inline = ((role.Properties?.Policies as { PolicyDocument: unknown }[] | undefined) ?? []).map((p) => p.PolicyDocument);
    const attached = Object.values(this.resources)
      .filter(
        (r) => r.Type === 'AWS::IAM::Policy' && ((r.Properties?.Roles as unknown[]) ?? []).some((x) => JSON.stringify(x) === JSON.stringify({ Ref: roleId })),
      )
      .map((r) => r.Properties!.PolicyDocument);
    if (((role.Properties?.ManagedPolicyArns as unknown[]) ?? []).length > 0) throw new Error(`iam-template: ${roleId} has managed policies; not simulated`);
    return [...inline, ...attached].map((d) => this.resolve(d) as PolicyDocument);
  }

  /** A function's role (its logical id) and its environment, resolved. */
  functionOf(id: string): { roleId: string; environment: Record<string, string> } {
    const p = this.resources[id]!.Properties!;
    const role = (p.Role as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
    const env = this.resolve((p.Environment as { Variables?: unknown } | undefined)?.Variables ?? {}) as Record<string, string>;
    return { roleId: role, environment: env };
  }
}

/** Every action a policy allows, as written (wildcards kept). */
export function grantedActions(policies: readonly PolicyDocument[]): string[] {
  return [
    ...new Set(
      policies.flatMap((p) => p.Statement.filter((s) => s.Effect === 'Allow').flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action]) as string[])),
    ),
  ].sort();
}
