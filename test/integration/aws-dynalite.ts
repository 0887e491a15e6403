/**
 * Test helper: DynamoDB on loopback, for the DynamoStore tests, the handler end to end and the
 * bundle test. dynalite (in-process, random port) does the storage and evaluates condition
 * expressions; it has no TransactWriteItems, so a small front proxy adds one: it checks the
 * request as DynamoDB does (1-100 items, one operation per item), applies the conditional
 * operations first, then the rest, rolls back on the first failure and answers exactly as DynamoDB
 * does (TransactionCanceledException with CancellationReasons), so the SDK parses a real error.
 * Transactions are serialised, which is all the atomicity these tests rely on.
 */
import { createServer, request } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { once } from 'node:events';
import { createRequire } from 'node:module';
import { CreateTableCommand, DeleteItemCommand, DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

/** dynalite ships no types: the one function we call. */
type Dynalite = (opts: { createTableMs?: number; deleteTableMs?: number; updateTableMs?: number }) => Server;
const dynalite = createRequire(import.meta.url)('dynalite') as Dynalite;

const LOOPBACK = '127.0.0.1' as const;
/** Dummy credentials: dynalite checks that requests are signed, not by whom. */
export const TEST_CREDENTIALS = { accessKeyId: 'AKIDTEST', secretAccessKey: 'test-secret' } as const;
export const TEST_REGION = 'us-east-1' as const;
/** The key schema the store expects. */
const KEY = { pk: 'pk', sk: 'sk' } as const;
const TRANSACT_TARGET = 'DynamoDB_20120810.TransactWriteItems';
const JSON_TYPE = 'application/x-amz-json-1.0';
const MAX_TRANSACT_ITEMS = 100;

/** A running local DynamoDB. */
export interface LocalDynamo {
  /** Endpoint of the proxy (with TransactWriteItems). */
  endpoint: string;
  client: DynamoDBClient;
  doc: DynamoDBDocumentClient;
  /** TransactWriteItems calls answered (committed or cancelled). */
  readonly transactions: number;
  /** Creates a table with the store's key schema. */
  createTable(name: string): Promise<void>;
  stop(): Promise<void>;
}

type Op = Record<
  string,
  {
    TableName: string;
    Item?: Record<string, AttributeValue>;
    Key?: Record<string, AttributeValue>;
    ConditionExpression?: string;
    ExpressionAttributeNames?: Record<string, string>;
    ExpressionAttributeValues?: Record<string, AttributeValue>;
  }
>;

/** Starts dynalite and the proxy on random loopback ports. */
export async function startLocalDynamo(): Promise<LocalDynamo> {
  const db = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  db.listen(0, LOOPBACK);
  await once(db, 'listening');
  const dbPort = (db.address() as AddressInfo).port;
  const direct = new DynamoDBClient({ endpoint: `http://${LOOPBACK}:${dbPort}`, region: TEST_REGION, credentials: TEST_CREDENTIALS });

  let transactions = 0;
  let queue: Promise<unknown> = Promise.resolve();
  const proxy = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      if (req.headers['x-amz-target'] !== TRANSACT_TARGET) return forward(req, res, body, dbPort);
      const run = queue.then(() => transact(direct, JSON.parse(body.toString('utf8')) as { TransactItems?: Op[] }));
      queue = run.catch(() => undefined);
      run.then(
        (answer) => {
          transactions++;
          reply(res, answer.status, answer.body);
        },
        (err: unknown) => reply(res, 500, { __type: 'com.amazonaws.dynamodb.v20120810#InternalServerError', message: String(err) }),
      );
    });
  });
  proxy.listen(0, LOOPBACK);
  await once(proxy, 'listening');
  const endpoint = `http://${LOOPBACK}:${(proxy.address() as AddressInfo).port}`;
  const client = new DynamoDBClient({ endpoint, region: TEST_REGION, credentials: TEST_CREDENTIALS });
  return {
    endpoint,
    client,
    doc: DynamoDBDocumentClient.from(client),
    get transactions() {
      return transactions;
    },
    async createTable(name) {
      await direct.send(
        new CreateTableCommand({
          TableName: name,
          AttributeDefinitions: [
            { AttributeName: KEY.pk, AttributeType: 'S' },
            { AttributeName: KEY.sk, AttributeType: 'S' },
          ],
          KeySchema: [
            { AttributeName: KEY.pk, KeyType: 'HASH' },
            { AttributeName: KEY.sk, KeyType: 'RANGE' },
          ],
          BillingMode: 'PAY_PER_REQUEST',
        }),
      );
    },
    async stop() {
      client.destroy();
      direct.destroy();
      proxy.closeAllConnections();
      await Promise.all([new Promise((r) => proxy.close(r)), new Promise((r) => db.close(r))]);
    },
  };
}

function forward(req: IncomingMessage, res: ServerResponse, body: Buffer, port: number): void {
  const out = request({ host: LOOPBACK, port, method: req.method, path: req.url, headers: req.headers }, (upstream) => {
    res.writeHead(upstream.statusCode ?? 500, upstream.headers);
    upstream.pipe(res);
  });
  out.on('error', (err) => reply(res, 500, { __type: 'com.amazonaws.dynamodb.v20120810#InternalServerError', message: err.message }));
  out.end(body);
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': JSON_TYPE, 'content-length': Buffer.byteLength(text), 'x-amzn-requestid': 'local' });
  res.end(text);
}

const validation = (message: string) => ({ status: 400, body: { __type: 'com.amazon.coral.validate#ValidationException', message } });

/** Applies a TransactWriteItems request in order; undoes it on the first failure. */
async function transact(db: DynamoDBClient, input: { TransactItems?: Op[] }): Promise<{ status: number; body: unknown }> {
  const items = input.TransactItems ?? [];
  if (items.length < 1 || items.length > MAX_TRANSACT_ITEMS) return validation(`Member must have length between 1 and ${MAX_TRANSACT_ITEMS}`);
  const ops = items.map((item) => {
    const [type, op] = Object.entries(item)[0]!;
    const key = type === 'Put' ? { [KEY.pk]: op.Item![KEY.pk]!, [KEY.sk]: op.Item![KEY.sk]! } : op.Key!;
    return { type, op, key, id: `${op.TableName}|${JSON.stringify(key)}` };
  });
  if (ops.some((o) => o.type !== 'Put' && o.type !== 'Delete')) return validation('only Put and Delete are emulated');
  if (new Set(ops.map((o) => o.id)).size !== ops.length) return validation('Transaction request cannot include multiple operations on one item');

  const before = await Promise.all(
    ops.map(async (o) => (await db.send(new GetItemCommand({ TableName: o.op.TableName, Key: o.key, ConsistentRead: true }))).Item),
  );
  const conditions = (o: Op[string]) => ({
    ...(o.ConditionExpression ? { ConditionExpression: o.ConditionExpression } : {}),
    ...(o.ExpressionAttributeNames ? { ExpressionAttributeNames: o.ExpressionAttributeNames } : {}),
    ...(o.ExpressionAttributeValues ? { ExpressionAttributeValues: o.ExpressionAttributeValues } : {}),
  });
  // Conditional operations first, one by one, so a failed condition stops before the rest;
  // then the unconditional ones all at once (they can only fail validation).
  const apply = async (o: (typeof ops)[number]) => {
    if (o.type === 'Put') await db.send(new PutItemCommand({ TableName: o.op.TableName, Item: o.op.Item!, ...conditions(o.op) }));
    else await db.send(new DeleteItemCommand({ TableName: o.op.TableName, Key: o.key, ...conditions(o.op) }));
  };
  const applied = new Set<number>();
  const undo = async () => {
    await Promise.all(
      [...applied].map(async (j) => {
        const prev = before[j];
        const u = ops[j]!;
        if (prev) await db.send(new PutItemCommand({ TableName: u.op.TableName, Item: prev }));
        else await db.send(new DeleteItemCommand({ TableName: u.op.TableName, Key: u.key }));
      }),
    );
  };
  const conditional = [...ops.keys()].filter((i) => ops[i]!.op.ConditionExpression);
  const plain = [...ops.keys()].filter((i) => !ops[i]!.op.ConditionExpression);
  let failed: { index: number; err: unknown } | undefined;
  for (const i of conditional) {
    try {
      await apply(ops[i]!);
      applied.add(i);
    } catch (err) {
      failed = { index: i, err };
      break;
    }
  }
  if (!failed) {
    const results = await Promise.allSettled(
      plain.map(async (i) => {
        await apply(ops[i]!);
        applied.add(i);
      }),
    );
    const bad = results.findIndex((r) => r.status === 'rejected');
    if (bad >= 0) failed = { index: plain[bad]!, err: (results[bad] as PromiseRejectedResult).reason };
  }
  if (failed) {
    await undo();
    const name = (failed.err as Error).name;
    if (name !== 'ConditionalCheckFailedException')
      return { status: 400, body: { __type: `com.amazonaws.dynamodb.v20120810#${name}`, message: (failed.err as Error).message } };
    const reasons = ops.map((_, j) => (j === failed.index ? { Code: 'ConditionalCheckFailed', Message: 'The conditional request failed' } : { Code: 'None' }));
    return {
      status: 400,
      body: {
        __type: 'com.amazonaws.dynamodb.v20120810#TransactionCanceledException',
        Message: `Transaction cancelled, please refer cancellation reasons for specific reasons [${reasons.map((r) => r.Code).join(', ')}]`,
        CancellationReasons: reasons,
      },
    };
  }
  return { status: 200, body: {} };
}
