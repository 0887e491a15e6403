/**
 * DynamoDB store (docs/architecture.md, "State"): one table, per target a partition `pk = target#<name>` with
 *
 * - `sk = state`: addresses, latencies, aurora, `version` (optimistic lock), and `alertIndex`, the
 *   key of every open alert with the version that last wrote its item;
 * - `sk = alert#<key>`: one item per open alert (AlertState), stamped with `savedVersion`;
 * - `sk = change#<iso>#<version>-<n>`: history for `ipdrift history`, expiring via `expiresAt`.
 *
 * A load reads the state items by the hundred (BatchGetItem, consistent reads), then each target's
 * alert items (Query). A save is one TransactWriteItems: the state Put (conditional on the version read), the alert
 * items that changed, Deletes of the alerts that closed, and the change items that fit. The
 * state item's `alertIndex` makes this correct across invocations: any writer knows which alert
 * items belong to the version it read, and a load detects a read torn by a concurrent commit
 * (an alert item whose stamp is not the one the state lists) and reads again.
 */
import { randomUUID } from 'node:crypto';
import { BatchGetCommand, BatchWriteCommand, GetCommand, QueryCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import type { BatchGetCommandOutput, DynamoDBDocumentClient, QueryCommandInput, QueryCommandOutput, TransactWriteCommandInput } from '@aws-sdk/lib-dynamodb';
import { batches } from '../../core/batches.ts';
import { READABLE_STATE_VERSIONS, STATE_SCHEMA_VERSION } from '../../core/constants.ts';
import type { Store } from '../../core/ports.ts';
import { StateError, VersionConflictError } from '../../core/ports.ts';
import type { AlertState, ChangeRecord, Clock, TargetState } from '../../core/types.ts';
import { TABLE_KEYS } from '../../contract.ts';
import { dynamoItemSize } from './item-size.ts';
import { MS_PER_SECOND, SECONDS_PER_DAY } from '../../core/time-units.ts';
import { IpdriftError } from '../../core/errors.ts';

/** DynamoDB service limits the store plans around. */
export const DYNAMO_LIMITS = {
  /** Items in one TransactWriteItems. */
  transactItems: 100,
  /** Aggregate size of one transaction. */
  transactBytes: 4 * 1024 * 1024,
  /** Items in one BatchWriteItem. */
  batchWriteItems: 25,
  /** Keys in one BatchGetItem. */
  batchGetKeys: 100,
  /** Size of one item. */
  itemBytes: 400 * 1024,
} as const;

/** Store defaults. */
export const DYNAMO_STORE_DEFAULTS = {
  /** Days a change item lives before DynamoDB's TTL deletes it. */
  historyDays: 30,
  /** Reads of one target when concurrent commits keep tearing them. */
  loadAttempts: 3,
  /** Rounds of re-sending UnprocessedItems of a BatchWrite. */
  batchRetries: 5,
  /** First back-off between those rounds (doubles each round). */
  batchBackoffMs: 50,
} as const;

/** Digits of the version and index in a change sort key, so keys sort numerically. */
const VERSION_DIGITS = 10;
const INDEX_DIGITS = 4;

/** A DynamoDB call failed for a reason other than a version conflict; `cause` is the SDK error. */
export class DynamoStoreError extends IpdriftError {
  override readonly name = 'DynamoStoreError';
  readonly code = 'dynamo-store';
  constructor(
    readonly operation: 'load' | 'save' | 'history',
    readonly target: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    const why = options?.cause instanceof Error ? ` (${options.cause.name}: ${options.cause.message})` : '';
    super(`DynamoDB ${operation} of target "${target}": ${message}${why}`, options);
  }
}

/** A state or alert item would exceed DynamoDB's 400 KB item limit; nothing was written. */
export class ItemTooLargeError extends IpdriftError {
  override readonly name = 'ItemTooLargeError';
  readonly code = 'item-too-large';
  constructor(
    readonly target: string,
    readonly sk: string,
    readonly bytes: number,
  ) {
    super(`item ${sk} of target "${target}" would be ${bytes} bytes, over DynamoDB's ${DYNAMO_LIMITS.itemBytes}-byte limit; nothing was written`);
  }
}

/** A save needs more than one transaction for state and alerts; nothing was written. */
export class TransactionTooLargeError extends IpdriftError {
  override readonly name = 'TransactionTooLargeError';
  readonly code = 'transaction-too-large';
  constructor(
    readonly target: string,
    readonly items: number,
    readonly bytes: number,
  ) {
    super(
      `saving target "${target}" needs ${items} items / ${bytes} bytes in one transaction (limits ${DYNAMO_LIMITS.transactItems} / ${DYNAMO_LIMITS.transactBytes}); nothing was written`,
    );
  }
}

/** The state was committed but some change records could not be written. */
export class HistoryWriteError extends IpdriftError {
  override readonly name = 'HistoryWriteError';
  readonly code = 'history-write';
  constructor(
    readonly target: string,
    readonly unwritten: number,
    options?: { cause?: unknown },
  ) {
    super(`state of target "${target}" saved, but ${unwritten} change record(s) were not written to the history`, options);
  }
}

/** Store options. */
export interface DynamoStoreOptions {
  /** Days change items are kept (TTL). */
  historyDays?: number;
  /** Source of "now" for TTLs and expiry filtering. */
  clock?: Clock;
}

type Item = Record<string, unknown>;

/** What the state item holds besides TargetState's own fields. */
interface StateItem extends Omit<TargetState, 'alerts'> {
  pk: string;
  sk: typeof TABLE_KEYS.stateSk;
  /** Open alert key -> version that wrote its item. */
  alertIndex: Record<string, number>;
}

/** What this instance last read or wrote of a target: lets save() skip unchanged alerts. */
interface Seen {
  version: number;
  alertIndex: Record<string, number>;
  /** Stable JSON of each alert as stored. */
  alertJson: Map<string, string>;
}

const pkOf = (target: string) => `${TABLE_KEYS.targetPrefix}${target}`;
const alertSk = (key: string) => `${TABLE_KEYS.alertPrefix}${key}`;

/** Store on one DynamoDB table through the document client. */
export class DynamoStore implements Store {
  readonly #seen = new Map<string, Seen>();
  readonly #historyDays: number;
  readonly #clock: Clock;

  constructor(
    private readonly doc: DynamoDBDocumentClient,
    /** Table name. */
    readonly table: string,
    options: DynamoStoreOptions = {},
  ) {
    this.#historyDays = options.historyDays ?? DYNAMO_STORE_DEFAULTS.historyDays;
    this.#clock = options.clock ?? { now: () => new Date() };
  }

  async load(targets: readonly string[]): Promise<Map<string, TargetState | undefined>> {
    // State items by the hundred (BatchGetItem) rather than one GetItem each: a check of 100
    // targets made 100 signed requests, a third of the function's CPU (bench/ deployed check).
    // Each batch's alert reads start as soon as that batch is back, so state and alerts are read
    // close together (a commit between the two means a torn read, read again).
    if (targets.length <= 1) return new Map(await Promise.all(targets.map(async (t) => [t, await this.#loadOne(t)] as const)));
    const parts = await Promise.all(
      batches(targets, DYNAMO_LIMITS.batchGetKeys).map(async (chunk) => {
        const items = await this.#batchGetStates(chunk);
        return Promise.all(chunk.map(async (t) => [t, await this.#loadOne(t, items.get(t))] as const));
      }),
    );
    return new Map(parts.flat());
  }

  /**
   * The state items of `chunk` (at most DYNAMO_LIMITS.batchGetKeys targets), one consistent
   * BatchGetItem. Keys DynamoDB leaves unprocessed (throttling, the 16 MB response cap) are
   * absent from the map: their targets are read one by one with GetItem. A missing item maps
   * to `{ item: undefined }`.
   */
  async #batchGetStates(chunk: readonly string[]): Promise<Map<string, { item: Item | undefined }>> {
    const keys = chunk.map((t) => ({ [TABLE_KEYS.partitionKey]: pkOf(t), [TABLE_KEYS.sortKey]: TABLE_KEYS.stateSk }));
    let res: BatchGetCommandOutput;
    try {
      res = await this.doc.send(new BatchGetCommand({ RequestItems: { [this.table]: { Keys: keys, ConsistentRead: true } } }));
    } catch (err) {
      throw new DynamoStoreError('load', chunk[0]!, `BatchGetItem of ${chunk.length} state items failed`, { cause: err });
    }
    const found = new Map((res.Responses?.[this.table] ?? []).map((item) => [String(item[TABLE_KEYS.partitionKey]), item]));
    const unprocessed = new Set((res.UnprocessedKeys?.[this.table]?.Keys ?? []).map((k) => String(k[TABLE_KEYS.partitionKey])));
    const out = new Map<string, { item: Item | undefined }>();
    for (const t of chunk) if (!unprocessed.has(pkOf(t))) out.set(t, { item: found.get(pkOf(t)) });
    return out;
  }

  /** One target's state and alerts; `prefetched` is its state item from a batch read (its first attempt). */
  async #loadOne(target: string, prefetched?: { item: Item | undefined }): Promise<TargetState | undefined> {
    for (let attempt = 1; ; attempt++) {
      const item = attempt === 1 && prefetched ? prefetched.item : await this.#getState(target, 'load');
      if (!item) {
        this.#seen.delete(target);
        return undefined;
      }
      const state = this.#checkState(item, target);
      const keys = Object.keys(state.alertIndex);
      const alertItems =
        keys.length === 0
          ? []
          : await this.#queryAll(target, 'load', {
              KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :prefix)',
              ExpressionAttributeNames: { '#pk': TABLE_KEYS.partitionKey, '#sk': TABLE_KEYS.sortKey },
              ExpressionAttributeValues: { ':pk': pkOf(target), ':prefix': TABLE_KEYS.alertPrefix },
              ConsistentRead: true,
            });
      const byKey = new Map(alertItems.map((i) => [String(i[TABLE_KEYS.sortKey]).slice(TABLE_KEYS.alertPrefix.length), i]));
      const alerts: Record<string, AlertState> = {};
      const alertJson = new Map<string, string>();
      let torn = false;
      for (const key of keys) {
        const a = byKey.get(key);
        // Missing or stamped with another version: a commit landed between the two reads.
        if (!a || a.savedVersion !== state.alertIndex[key] || typeof a.alert !== 'object' || a.alert === null) {
          torn = true;
          break;
        }
        alerts[key] = a.alert as AlertState;
        alertJson.set(key, stableJson(a.alert));
      }
      if (torn) {
        if (attempt >= DYNAMO_STORE_DEFAULTS.loadAttempts) {
          throw new StateError(
            `alert items do not match state version ${state.version} after ${attempt} reads (concurrent writers, or items edited by hand)`,
            this.#location(target),
          );
        }
        continue;
      }
      const { pk: _pk, sk: _sk, alertIndex, ...rest } = state;
      this.#seen.set(target, { version: state.version, alertIndex, alertJson });
      return { ...rest, alerts };
    }
  }

  async save(state: TargetState, expectedVersion: number, changes: readonly ChangeRecord[]): Promise<void> {
    const target = state.target;
    const previous = await this.#previous(target, expectedVersion);
    const version = expectedVersion + 1;
    const pk = pkOf(target);

    // Alerts: Put the ones that changed (or all, without a cached copy), Delete the ones that closed.
    const alertIndex: Record<string, number> = {};
    const alertJson = new Map<string, string>();
    const ops: NonNullable<TransactWriteCommandInput['TransactItems']> = [];
    const sizes: number[] = [];
    for (const [key, alert] of Object.entries(state.alerts)) {
      const stored = plain(alert);
      const json = stableJson(stored);
      alertJson.set(key, json);
      const before = previous.alertIndex[key];
      if (before !== undefined && previous.alertJson?.get(key) === json) {
        alertIndex[key] = before;
        continue;
      }
      alertIndex[key] = version;
      const item: Item = { [TABLE_KEYS.partitionKey]: pk, [TABLE_KEYS.sortKey]: alertSk(key), savedVersion: version, alert: stored };
      sizes.push(this.#checkSize(target, item));
      ops.push({ Put: { TableName: this.table, Item: item } });
    }
    for (const key of Object.keys(previous.alertIndex)) {
      if (!(key in state.alerts)) ops.push({ Delete: { TableName: this.table, Key: { [TABLE_KEYS.partitionKey]: pk, [TABLE_KEYS.sortKey]: alertSk(key) } } });
    }

    const { alerts: _alerts, ...fields } = state;
    const stateItem: StateItem = { ...plain(fields), pk, sk: TABLE_KEYS.stateSk, schemaVersion: STATE_SCHEMA_VERSION, version, alertIndex };
    sizes.push(this.#checkSize(target, stateItem as unknown as Item));
    // The state Put goes first: a cancellation reason at index 0 is the version check.
    ops.unshift({
      Put: {
        TableName: this.table,
        Item: stateItem,
        ConditionExpression: expectedVersion === 0 ? 'attribute_not_exists(#pk)' : '#v = :expected',
        ExpressionAttributeNames: expectedVersion === 0 ? { '#pk': TABLE_KEYS.partitionKey } : { '#v': 'version' },
        ...(expectedVersion === 0 ? {} : { ExpressionAttributeValues: { ':expected': expectedVersion } }),
      },
    });
    const bytes = sizes.reduce((a, b) => a + b, 0);
    if (ops.length > DYNAMO_LIMITS.transactItems || bytes > DYNAMO_LIMITS.transactBytes) throw new TransactionTooLargeError(target, ops.length, bytes);

    // Change items ride along while there is room (one atomic write); the rest follow in batches.
    const changeItems = changes.map((c, i) => this.#changeItem(c, version, i));
    let room = DYNAMO_LIMITS.transactItems - ops.length;
    let roomBytes = DYNAMO_LIMITS.transactBytes - bytes;
    const overflow: Item[] = [];
    for (const item of changeItems) {
      const size = dynamoItemSize(item);
      if (room > 0 && size <= roomBytes) {
        ops.push({ Put: { TableName: this.table, Item: item } });
        room--;
        roomBytes -= size;
      } else overflow.push(item);
    }

    try {
      // The token makes an SDK retry of a transaction that did commit a success, not a conflict.
      await this.doc.send(new TransactWriteCommand({ TransactItems: ops, ClientRequestToken: randomUUID() }));
    } catch (err) {
      if (isVersionConflict(err)) {
        this.#seen.delete(target);
        throw new VersionConflictError(target, expectedVersion, { cause: err });
      }
      throw new DynamoStoreError('save', target, 'TransactWriteItems failed', { cause: err });
    }
    this.#seen.set(target, { version, alertIndex, alertJson });
    if (overflow.length > 0) await this.#batchPut(target, overflow);
  }

  async history(target: string, limit: number): Promise<ChangeRecord[]> {
    if (!Number.isInteger(limit) || limit <= 0) return [];
    const nowSeconds = Math.floor(this.#clock.now().getTime() / MS_PER_SECOND);
    const out: ChangeRecord[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      let page: QueryCommandOutput;
      try {
        page = await this.doc.send(
          new QueryCommand({
            TableName: this.table,
            KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :prefix)',
            ExpressionAttributeNames: { '#pk': TABLE_KEYS.partitionKey, '#sk': TABLE_KEYS.sortKey },
            ExpressionAttributeValues: { ':pk': pkOf(target), ':prefix': TABLE_KEYS.changePrefix },
            ScanIndexForward: false,
            Limit: limit - out.length,
            ...(start ? { ExclusiveStartKey: start } : {}),
          }),
        );
      } catch (err) {
        throw new DynamoStoreError('history', target, 'Query failed', { cause: err });
      }
      for (const item of page.Items ?? []) {
        // TTL deletion lags by up to a few days: hide what has expired.
        const expires = item[TABLE_KEYS.ttlAttribute];
        if (typeof expires === 'number' && expires <= nowSeconds) continue;
        out.push(toChange(item));
      }
      start = page.LastEvaluatedKey;
    } while (start && out.length < limit);
    return out.slice(0, limit);
  }

  /** The alert index of `expectedVersion`: cached when this instance read or wrote it, else read. */
  async #previous(target: string, expectedVersion: number): Promise<{ alertIndex: Record<string, number>; alertJson?: Map<string, string> }> {
    const seen = this.#seen.get(target);
    if (seen && seen.version === expectedVersion) return seen;
    const item = await this.#getState(target, 'save');
    const version = item ? this.#checkState(item, target).version : 0;
    if (version !== expectedVersion) throw new VersionConflictError(target, expectedVersion);
    return { alertIndex: item ? this.#checkState(item, target).alertIndex : {} };
  }

  async #getState(target: string, operation: 'load' | 'save'): Promise<Item | undefined> {
    try {
      const res = await this.doc.send(
        new GetCommand({
          TableName: this.table,
          Key: { [TABLE_KEYS.partitionKey]: pkOf(target), [TABLE_KEYS.sortKey]: TABLE_KEYS.stateSk },
          ConsistentRead: true,
        }),
      );
      return res.Item;
    } catch (err) {
      throw new DynamoStoreError(operation, target, 'GetItem of the state item failed', { cause: err });
    }
  }

  async #queryAll(target: string, operation: 'load', input: Omit<QueryCommandInput, 'TableName'>): Promise<Item[]> {
    const items: Item[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      try {
        const page = await this.doc.send(new QueryCommand({ ...input, TableName: this.table, ...(start ? { ExclusiveStartKey: start } : {}) }));
        items.push(...(page.Items ?? []));
        start = page.LastEvaluatedKey;
      } catch (err) {
        throw new DynamoStoreError(operation, target, 'Query of the alert items failed', { cause: err });
      }
    } while (start);
    return items;
  }

  /** Validates a state item; a foreign or corrupt one is reported, never overwritten. */
  #checkState(item: Item, target: string): StateItem {
    const s = item as Partial<StateItem>;
    if (!READABLE_STATE_VERSIONS.includes(s.schemaVersion as number) || typeof s.version !== 'number' || !Array.isArray(s.addresses)) {
      throw new StateError(
        `not an ipdrift state item of a schema version it reads (${READABLE_STATE_VERSIONS.join(', ')}); left untouched`,
        this.#location(target),
      );
    }
    if (s.target !== target) throw new StateError(`state item belongs to target "${String(s.target)}"; left untouched`, this.#location(target));
    const index = s.alertIndex ?? {};
    if (typeof index !== 'object' || Object.values(index).some((v) => typeof v !== 'number')) {
      throw new StateError('alertIndex is not a map of versions; left untouched', this.#location(target));
    }
    return { ...(s as StateItem), alertIndex: index };
  }

  #changeItem(change: ChangeRecord, version: number, index: number): Item {
    const at = Date.parse(change.at);
    const base = Number.isFinite(at) ? at : this.#clock.now().getTime();
    return {
      ...plain(change),
      [TABLE_KEYS.partitionKey]: pkOf(change.target),
      // The version and index keep two changes of the same millisecond apart, in order.
      [TABLE_KEYS.sortKey]: `${TABLE_KEYS.changePrefix}${change.at}#${String(version).padStart(VERSION_DIGITS, '0')}-${String(index).padStart(INDEX_DIGITS, '0')}`,
      [TABLE_KEYS.ttlAttribute]: Math.floor(base / MS_PER_SECOND) + this.#historyDays * SECONDS_PER_DAY,
    };
  }

  async #batchPut(target: string, items: Item[]): Promise<void> {
    let unwritten = items.length;
    try {
      for (const batch of batches(items, DYNAMO_LIMITS.batchWriteItems)) {
        let requests = batch.map((Item) => ({ PutRequest: { Item } }));
        for (let round = 0; requests.length > 0; round++) {
          if (round > DYNAMO_STORE_DEFAULTS.batchRetries) throw new Error(`${requests.length} item(s) still unprocessed after ${round} rounds`);
          if (round > 0) await new Promise((r) => setTimeout(r, DYNAMO_STORE_DEFAULTS.batchBackoffMs * 2 ** (round - 1)));
          const res = await this.doc.send(new BatchWriteCommand({ RequestItems: { [this.table]: requests } }));
          const left = res.UnprocessedItems?.[this.table] ?? [];
          unwritten -= requests.length - left.length;
          requests = left.flatMap((r) => (r.PutRequest?.Item ? [{ PutRequest: { Item: r.PutRequest.Item } }] : []));
        }
      }
    } catch (err) {
      throw new HistoryWriteError(target, unwritten, { cause: err });
    }
  }

  #checkSize(target: string, item: Item): number {
    const bytes = dynamoItemSize(item);
    if (bytes > DYNAMO_LIMITS.itemBytes) throw new ItemTooLargeError(target, String(item[TABLE_KEYS.sortKey]), bytes);
    return bytes;
  }

  #location(target: string): string {
    return `dynamodb:${this.table}/${pkOf(target)}`;
  }
}

/** True for a cancelled transaction whose state condition failed, or that raced another transaction. */
function isVersionConflict(err: unknown): boolean {
  const e = err as { name?: string; CancellationReasons?: { Code?: string }[] };
  if (e?.name !== 'TransactionCanceledException') return false;
  const reasons = e.CancellationReasons ?? [];
  return reasons[0]?.Code === 'ConditionalCheckFailed' || reasons.some((r) => r.Code === 'TransactionConflict');
}

function toChange(item: Item): ChangeRecord {
  const c = item as Partial<ChangeRecord>;
  return {
    at: String(c.at),
    target: String(c.target),
    kind: c.kind as ChangeRecord['kind'],
    summary: String(c.summary ?? ''),
    ...(Array.isArray(c.added) ? { added: c.added } : {}),
    ...(Array.isArray(c.removed) ? { removed: c.removed } : {}),
    ...(Array.isArray(c.addresses) ? { addresses: c.addresses } : {}),
    ...(typeof c.key === 'string' ? { key: c.key } : {}),
    ...(typeof c.severity === 'string' ? { severity: c.severity } : {}),
    ...(c.audience === 'on-call' || c.audience === 'events' ? { audience: c.audience } : {}),
    ...(c.timeline && typeof c.timeline === 'object' ? { timeline: c.timeline } : {}),
  };
}

/** A JSON-clean copy: drops `undefined` (the document client rejects it unless configured to) and non-data. */
function plain<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

/** JSON with object keys sorted: DynamoDB maps do not keep key order. */
function stableJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : v,
  );
}
