import { beforeEach, describe, expect, it } from 'vitest';
import { mockClient } from 'aws-sdk-client-mock';
import { allCustomMatcher } from 'aws-sdk-client-mock-vitest';
import type {} from 'aws-sdk-client-mock-vitest/extend';
import { DynamoDBClient, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { BatchGetCommand, DynamoDBDocumentClient, GetCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { DynamoStore, DynamoStoreError } from '../../src/adapters/aws/dynamo-store.ts';
import { dynamoItemSize } from '../../src/adapters/aws/item-size.ts';
import { VersionConflictError } from '../../src/core/ports.ts';
import type { TargetState } from '../../src/core/types.ts';
import { STATE_SCHEMA_VERSION } from '../../src/core/constants.ts';

expect.extend(allCustomMatcher);

const TABLE = 'ipdrift';
const state = (version: number): TargetState => ({
  schemaVersion: STATE_SCHEMA_VERSION,
  target: 'app',
  version,
  updatedAt: '2026-03-01T00:00:00.000Z',
  addresses: [],
  alerts: {},
});
const cancelled = (codes: string[]) =>
  new TransactionCanceledException({
    message: `Transaction cancelled [${codes.join(', ')}]`,
    $metadata: {},
    CancellationReasons: codes.map((Code) => ({ Code })),
  });

describe('DynamoStore request shapes and error mapping', () => {
  const ddb = mockClient(DynamoDBDocumentClient);
  const doc = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' }));
  beforeEach(() => {
    ddb.reset();
  });

  it('creates a target with attribute_not_exists and updates it with a version condition', async () => {
    // Prepare
    ddb.on(TransactWriteCommand).resolves({});
    // A fresh store reads the state item once to learn the alerts of the version it replaces.
    ddb
      .on(GetCommand)
      .resolvesOnce({})
      .resolves({ Item: { pk: 'target#app', sk: 'state', schemaVersion: STATE_SCHEMA_VERSION, target: 'app', version: 1, addresses: [], alertIndex: {} } });
    const store = new DynamoStore(doc, TABLE);
    // Act
    await store.save(state(1), 0, []);
    await new DynamoStore(doc, TABLE).save(state(2), 1, []);
    // Assess
    const [create, update] = ddb.commandCalls(TransactWriteCommand).map((c) => c.args[0].input);
    expect(create!.TransactItems).toEqual([
      {
        Put: {
          TableName: TABLE,
          Item: {
            pk: 'target#app',
            sk: 'state',
            schemaVersion: STATE_SCHEMA_VERSION,
            target: 'app',
            version: 1,
            updatedAt: '2026-03-01T00:00:00.000Z',
            addresses: [],
            alertIndex: {},
          },
          ConditionExpression: 'attribute_not_exists(#pk)',
          ExpressionAttributeNames: { '#pk': 'pk' },
        },
      },
    ]);
    expect(create!.ClientRequestToken).toMatch(/^[0-9a-f-]{36}$/);
    expect(update!.TransactItems![0]!.Put).toMatchObject({
      ConditionExpression: '#v = :expected',
      ExpressionAttributeNames: { '#v': 'version' },
      ExpressionAttributeValues: { ':expected': 1 },
      Item: { version: 2 },
    });
  });

  it.each([
    ['ConditionalCheckFailed on the state item', ['ConditionalCheckFailed', 'None']],
    ['TransactionConflict (another writer mid-transaction)', ['None', 'TransactionConflict']],
  ])('maps %s to VersionConflictError', async (_what, codes) => {
    // Prepare
    ddb.on(GetCommand).resolves({});
    ddb.on(TransactWriteCommand).rejects(cancelled(codes));
    // Act
    const save = new DynamoStore(doc, TABLE).save(state(1), 0, []);
    // Assess
    await expect(save).rejects.toBeInstanceOf(VersionConflictError);
  });

  it('fails fast with VersionConflictError when the stored version is not the expected one', async () => {
    // Prepare
    ddb
      .on(GetCommand)
      .resolves({ Item: { pk: 'target#app', sk: 'state', schemaVersion: STATE_SCHEMA_VERSION, target: 'app', version: 5, addresses: [], alertIndex: {} } });
    // Act
    const save = new DynamoStore(doc, TABLE).save(state(4), 3, []);
    // Assess
    await expect(save).rejects.toBeInstanceOf(VersionConflictError);
    expect(ddb).not.toHaveReceivedCommand(TransactWriteCommand);
  });

  it('reports any other failure as DynamoStoreError with the SDK error as cause', async () => {
    // Prepare
    const throttled = Object.assign(new Error('Rate of requests exceeds the allowed throughput'), { name: 'ThrottlingException' });
    ddb.on(TransactWriteCommand).rejects(throttled);
    ddb.on(GetCommand).rejects(throttled);
    ddb.on(BatchGetCommand).rejects(throttled);
    // Act
    const save = new DynamoStore(doc, TABLE).save(state(1), 0, []);
    const load = new DynamoStore(doc, TABLE).load(['app']);
    const loadMany = new DynamoStore(doc, TABLE).load(['app', 'db']);
    // Assess
    await expect(save).rejects.toBeInstanceOf(DynamoStoreError);
    await expect(save).rejects.toMatchObject({ operation: 'save', target: 'app', cause: throttled });
    await expect(load).rejects.toMatchObject({ name: 'DynamoStoreError', operation: 'load', cause: throttled });
    await expect(loadMany).rejects.toMatchObject({ name: 'DynamoStoreError', operation: 'load', target: 'app', cause: throttled });
    await expect(loadMany).rejects.toThrow('BatchGetItem of 2 state items failed');
  });

  it('loads many targets with consistent BatchGetItem requests of at most 100 keys, and reads unprocessed keys one by one', async () => {
    // Prepare: 150 targets; the service leaves target t-7 unprocessed (throttling).
    const names = Array.from({ length: 150 }, (_, i) => `t-${i}`);
    const item = (t: string) => ({ pk: `target#${t}`, sk: 'state', schemaVersion: STATE_SCHEMA_VERSION, target: t, version: 3, addresses: [], alertIndex: {} });
    ddb.on(BatchGetCommand).callsFake((input: { RequestItems: Record<string, { Keys: { pk: string }[] }> }) => {
      const keys = input.RequestItems[TABLE]!.Keys;
      const names = keys.map((k) => k.pk.slice('target#'.length));
      // t-149 has never been saved: no item.
      return {
        Responses: { [TABLE]: names.filter((n) => n !== 't-7' && n !== 't-149').map(item) },
        UnprocessedKeys: names.includes('t-7') ? { [TABLE]: { Keys: [{ pk: 'target#t-7', sk: 'state' }], ConsistentRead: true } } : {},
      };
    });
    ddb.on(GetCommand).resolves({ Item: item('t-7') });
    // Act
    const loaded = await new DynamoStore(doc, TABLE).load(names);
    // Assess: two requests (100 + 50 keys), exactly shaped; one GetItem for the unprocessed key.
    const requests = ddb.commandCalls(BatchGetCommand).map((c) => c.args[0].input);
    expect(requests.map((r) => r.RequestItems![TABLE]!.Keys!.length)).toEqual([100, 50]);
    expect(requests[0]).toEqual({
      RequestItems: { [TABLE]: { Keys: names.slice(0, 100).map((n) => ({ pk: `target#${n}`, sk: 'state' })), ConsistentRead: true } },
    });
    expect(ddb).toHaveReceivedCommandTimes(GetCommand, 1);
    expect(ddb).toHaveReceivedCommandWith(GetCommand, { TableName: TABLE, Key: { pk: 'target#t-7', sk: 'state' }, ConsistentRead: true });
    expect(loaded.size).toBe(150);
    expect(loaded.get('t-7')).toMatchObject({ target: 't-7', version: 3 });
    expect(loaded.get('t-42')).toMatchObject({ target: 't-42', version: 3, alerts: {} });
    expect(loaded.get('t-149')).toBeUndefined();
  });

  it('estimates item sizes the way DynamoDB counts them', () => {
    // Prepare / Act / Assess: names + UTF-8 values; numbers by digits; containers with overhead.
    expect(dynamoItemSize({ pk: 'abc' })).toBe(2 + 3);
    expect(dynamoItemSize({ n: 12345 })).toBe(1 + 3 + 1);
    expect(dynamoItemSize({ l: ['a', 'b'] })).toBe(1 + 3 + 2 * (1 + 1));
    expect(dynamoItemSize({ m: { k: true } })).toBe(1 + 3 + 1 + 1 + 1);
    expect(dynamoItemSize({ s: '한' })).toBe(1 + 3);
  });
});
