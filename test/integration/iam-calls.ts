/**
 * An AWS call the handlers made (its client, command and input, as aws-sdk-client-mock recorded
 * it) as the IAM requests AWS authorizes for it: action, resource ARN and condition keys, from
 * the Service Authorization Reference and each service's IAM page. A call this file cannot map
 * is an error: a new call needs its mapping, and then its grant.
 */
import { TABLE_KEYS } from '../../src/contract.ts';
import { ACCOUNT, REGION } from './iam-template.ts';

/** One recorded SDK call. */
export interface AwsCall {
  /** The client class: DynamoDBDocumentClient, SNSClient, ... */
  client: string;
  /** The command class: PutCommand, PublishCommand, ... */
  command: string;
  input: Record<string, unknown>;
}

/** One request IAM evaluates. */
export interface IamRequest {
  action: string;
  resource: string;
  context?: Record<string, string | string[]>;
  /** The call behind it, for the failure message. */
  from: string;
}

const tableArn = (name: string) => `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/${name}`;
/** A log group's ARN as IAM authorizes Logs actions on it (the form with `:*`), from a name or an ARN. */
const logGroupArn = (nameOrArn: string) =>
  `${nameOrArn.startsWith('arn:') ? nameOrArn.replace(/:\*$/, '') : `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:${nameOrArn}`}:*`;

/** An item's or a key's partition key value, marshalled (`{S: ...}`) or not. */
function partitionOf(itemOrKey: unknown): string {
  const v = (itemOrKey as Record<string, unknown> | undefined)?.[TABLE_KEYS.partitionKey];
  const s = typeof v === 'string' ? v : (v as { S?: string } | undefined)?.S;
  if (s === undefined) throw new Error(`iam-calls: no partition key in ${JSON.stringify(itemOrKey)?.slice(0, 200)}`);
  return s;
}

/** The partition a Query reads: the value its key condition gives the partition key. */
function queriedKey(input: Record<string, unknown>): Record<string, unknown> {
  const names = (input.ExpressionAttributeNames ?? {}) as Record<string, string>;
  const m = /(#?\w+)\s*=\s*(:\w+)/.exec(String(input.KeyConditionExpression));
  const attribute = m ? (names[m[1]!] ?? m[1]) : undefined;
  if (!m || attribute !== TABLE_KEYS.partitionKey) throw new Error(`iam-calls: no partition key condition in ${String(input.KeyConditionExpression)}`);
  return { [TABLE_KEYS.partitionKey]: (input.ExpressionAttributeValues as Record<string, unknown>)[m[2]!] };
}

/** DynamoDB's transaction items: each needs the permission of the action it stands for (DynamoDB, "Using IAM with DynamoDB transactions"). */
const TRANSACT_ACTION: Record<string, string> = {
  Put: 'dynamodb:PutItem',
  Update: 'dynamodb:UpdateItem',
  Delete: 'dynamodb:DeleteItem',
  ConditionCheck: 'dynamodb:ConditionCheckItem',
};

/** The document client's single-item and query commands, by IAM action. */
const DOCUMENT_ACTION: Record<string, string> = {
  GetCommand: 'dynamodb:GetItem',
  PutCommand: 'dynamodb:PutItem',
  UpdateCommand: 'dynamodb:UpdateItem',
  DeleteCommand: 'dynamodb:DeleteItem',
  QueryCommand: 'dynamodb:Query',
};

/**
 * The IAM requests of one call. `queryGroups` maps a Logs Insights query id to the group it
 * ran on (GetQueryResults is authorized on that group).
 */
export function iamRequestsOf(call: AwsCall, queryGroups: ReadonlyMap<string, string>): IamRequest[] {
  const from = `${call.client}.${call.command}`;
  const i = call.input;
  const one = (action: string, resource: string, context?: Record<string, string | string[]>): IamRequest => ({
    action,
    resource,
    from,
    ...(context ? { context } : {}),
  });
  /** A DynamoDB request with the partition keys it touches (`dynamodb:LeadingKeys`, which a role's conditions may name). */
  const dynamo = (action: string, table: string, keys: unknown[]) =>
    one(action, tableArn(table), { 'dynamodb:LeadingKeys': [...new Set(keys.map(partitionOf))] });
  // The document client's commands, or the client's own (the name a middleware sees).
  switch (call.command.replace(/ItemCommand$|ItemsCommand$/, 'Command')) {
    case 'BatchGetCommand':
      return Object.entries(i.RequestItems as Record<string, { Keys: unknown[] }>).map(([t, r]) => dynamo('dynamodb:BatchGetItem', t, r.Keys));
    case 'BatchWriteCommand':
      return Object.entries(i.RequestItems as Record<string, { PutRequest?: { Item: unknown }; DeleteRequest?: { Key: unknown } }[]>).map(([t, rs]) =>
        dynamo(
          'dynamodb:BatchWriteItem',
          t,
          rs.map((r) => r.PutRequest?.Item ?? r.DeleteRequest?.Key),
        ),
      );
    case 'TransactWriteCommand':
    case 'TransactWriteItemsCommand':
      return (i.TransactItems as Record<string, { TableName: string; Item?: unknown; Key?: unknown }>[]).map((item) => {
        const [kind, op] = Object.entries(item)[0]!;
        const action = TRANSACT_ACTION[kind];
        if (!action) throw new Error(`iam-calls: no IAM action for a transaction's ${kind}`);
        return dynamo(action, op.TableName, [op.Item ?? op.Key]);
      });
    case 'PublishCommand':
      return [one('sns:Publish', String(i.TopicArn))];
    case 'PutMetricDataCommand':
      // No resource-level permission: "*", scoped by the namespace condition key.
      return [one('cloudwatch:PutMetricData', '*', { 'cloudwatch:namespace': String(i.Namespace) })];
    case 'StartQueryCommand':
      return ((i.logGroupIdentifiers ?? [i.logGroupName]) as string[]).map((g) => one('logs:StartQuery', logGroupArn(g)));
    case 'GetQueryResultsCommand': {
      const group = queryGroups.get(String(i.queryId));
      if (!group) throw new Error(`iam-calls: GetQueryResults of a query no StartQuery returned (${String(i.queryId)})`);
      return [one('logs:GetQueryResults', logGroupArn(group))];
    }
    case 'StopQueryCommand':
      return [one('logs:StopQuery', '*')];
    case 'DescribeDBClustersCommand':
      return [one('rds:DescribeDBClusters', `arn:aws:rds:${REGION}:${ACCOUNT}:cluster:${String(i.DBClusterIdentifier).toLowerCase()}`)];
    case 'GetSecretValueCommand':
      return [one('secretsmanager:GetSecretValue', String(i.SecretId))];
    default: {
      const action = DOCUMENT_ACTION[call.command.replace(/ItemCommand$/, 'Command')];
      if (action === 'dynamodb:Query') return [dynamo(action, String(i.TableName), [queriedKey(i)])];
      if (action) return [dynamo(action, String(i.TableName), [i.Item ?? i.Key])];
      throw new Error(`iam-calls: no IAM mapping for ${from}: add it (and its grant)`);
    }
  }
}
