/**
 * One fanned-out check per schedule tick, even when EventBridge delivers the tick twice
 * (its targets are invoked at least once): the scheduler claims the tick's event id with a
 * conditional write before splitting the targets; a second execution for the same event finds
 * it claimed and does nothing. The claim lives in the state table under its own partition and
 * expires with the table's TTL.
 */
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { TABLE_KEYS } from '../../contract.ts';
import { MS_PER_SECOND } from '../../core/time-units.ts';
import { IpdriftError } from '../../core/errors.ts';

/** Where claims live: one partition (a write a minute), sort key `<tick time>#<event id>`. */
export const TICK_CLAIM_SCHEMA = {
  /** The only partition key the scheduler may write (its IAM policy's dynamodb:LeadingKeys). */
  partition: TABLE_KEYS.tickClaimPartition,
  /** A claim outlives any retry of its tick by far; then DynamoDB's TTL deletes it. */
  ttlSeconds: 86_400,
} as const;

/** Claims ticks; `true` when this execution may run the tick. */
export interface TickClaims {
  /**
   * Claims `tick` (an EventBridge event id, scheduled at `time`) for `execution`. True when the
   * tick was free or is already this execution's (a retried scheduler task); false when another
   * execution has it.
   */
  claim(tick: string, time: string, execution: string): Promise<boolean>;
}

/** The claim could not be written for a reason other than "already claimed". */
export class TickClaimError extends IpdriftError {
  override readonly name = 'TickClaimError';
  readonly code = 'tick-claim';
  constructor(
    readonly tick: string,
    options?: { cause?: unknown },
  ) {
    const why = options?.cause instanceof Error ? ` (${options.cause.name}: ${options.cause.message})` : '';
    super(`could not claim tick ${tick} in DynamoDB${why}`, options);
  }
}

/** TickClaims on the state table. */
export class DynamoTickClaims implements TickClaims {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    readonly table: string,
    private readonly now: () => number = Date.now,
  ) {}

  async claim(tick: string, time: string, execution: string): Promise<boolean> {
    const at = Date.parse(time);
    const base = Number.isFinite(at) ? at : this.now();
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.table,
          Item: {
            [TABLE_KEYS.partitionKey]: TICK_CLAIM_SCHEMA.partition,
            [TABLE_KEYS.sortKey]: `${time}#${tick}`,
            execution,
            claimedAt: new Date(this.now()).toISOString(),
            [TABLE_KEYS.ttlAttribute]: Math.floor(base / MS_PER_SECOND) + TICK_CLAIM_SCHEMA.ttlSeconds,
          },
          ConditionExpression: 'attribute_not_exists(#pk) OR #execution = :execution',
          ExpressionAttributeNames: { '#pk': TABLE_KEYS.partitionKey, '#execution': 'execution' },
          ExpressionAttributeValues: { ':execution': execution },
        }),
      );
      return true;
    } catch (err) {
      if ((err as { name?: string }).name === 'ConditionalCheckFailedException') return false;
      throw new TickClaimError(tick, { cause: err });
    }
  }
}

/** TickClaims in memory (tests, local runs). */
export class MemoryTickClaims implements TickClaims {
  readonly claims = new Map<string, string>();
  async claim(tick: string, _time: string, execution: string): Promise<boolean> {
    const owner = this.claims.get(tick);
    if (owner !== undefined) return owner === execution;
    this.claims.set(tick, execution);
    return true;
  }
}
