/**
 * The ELB interfaces' addresses, remembered from their creation (docs/architecture.md,
 * "Interface changes"): CloudTrail's record of `DeleteNetworkInterface` names only the
 * interface, so the addresses of a deleted one come from the `CreateNetworkInterface` record
 * seen earlier. One item per interface in the state table (`pk = interface#<id>`, no target's
 * partition); a deleted interface's item is kept a week (EventBridge may deliver the event
 * again, and the answer must be the same), then DynamoDB's TTL removes it.
 */
import { isIP } from 'node:net';
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { TABLE_KEYS } from '../../contract.ts';
import type { InterfaceChange, InterfaceNews } from '../../core/interface-change.ts';
import { MS_PER_SECOND } from '../../core/time-units.ts';
import { IpdriftError } from '../../core/errors.ts';

/** How long a deleted interface's item stays readable. */
export const INTERFACE_LEDGER_SCHEMA = {
  /** The whole record() call: a check must not wait on the ledger longer. */
  timeoutMs: 3_000,
  deletedTtlSeconds: 7 * 86_400,
  /** A live interface's item: long, so one whose deletion was never delivered does not stay forever. */
  liveTtlSeconds: 400 * 86_400,
} as const;

/** Remembers interfaces; turns a change into what a check applies. */
export interface InterfaceLedger {
  /**
   * A created interface: remembered, its addresses `assigned`. A deleted one: its remembered
   * addresses `released` (none when it was created before the ledger saw it).
   */
  record(change: InterfaceChange): Promise<InterfaceNews>;
}

/** The ledger could not be read or written. */
export class InterfaceLedgerError extends IpdriftError {
  override readonly name = 'InterfaceLedgerError';
  readonly code = 'interface-ledger';
  constructor(
    readonly interfaceId: string,
    options?: { cause?: unknown },
  ) {
    const why = options?.cause instanceof Error ? ` (${options.cause.name}: ${options.cause.message})` : '';
    super(`interface ledger: could not record ${interfaceId} in DynamoDB${why}`, options);
  }
}

const NOTHING: InterfaceNews = { released: [], assigned: [] };

/** InterfaceLedger on the state table. */
export class DynamoInterfaceLedger implements InterfaceLedger {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    readonly table: string,
  ) {}

  async record(change: InterfaceChange): Promise<InterfaceNews> {
    const opts = { abortSignal: AbortSignal.timeout(INTERFACE_LEDGER_SCHEMA.timeoutMs) };
    const key = { [TABLE_KEYS.partitionKey]: `${TABLE_KEYS.interfacePrefix}${change.interfaceId}`, [TABLE_KEYS.sortKey]: TABLE_KEYS.interfaceSk };
    try {
      if (change.call === 'CreateNetworkInterface') {
        try {
          await this.doc.send(
            new PutCommand({
              TableName: this.table,
              Item: {
                ...key,
                addresses: change.addresses,
                createdAt: change.at,
                ...(change.description ? { description: change.description } : {}),
                [TABLE_KEYS.ttlAttribute]: Math.floor(Date.parse(change.at) / MS_PER_SECOND) + INTERFACE_LEDGER_SCHEMA.liveTtlSeconds,
              },
              // A Create delivered again after the Delete must not bring the interface back.
              ConditionExpression: 'attribute_not_exists(#deletedAt)',
              ExpressionAttributeNames: { '#deletedAt': 'deletedAt' },
            }),
            opts,
          );
        } catch (err) {
          if ((err as { name?: string }).name === 'ConditionalCheckFailedException') return NOTHING;
          throw err;
        }
        return { released: [], assigned: change.addresses };
      }
      const found = (await this.doc.send(new GetCommand({ TableName: this.table, Key: key, ConsistentRead: true }), opts)).Item;
      if (!found) return NOTHING;
      const addresses = Array.isArray(found.addresses) ? found.addresses.filter((a): a is string => typeof a === 'string' && isIP(a) !== 0) : [];
      const description = typeof found.description === 'string' ? found.description : undefined;
      if (found.deletedAt === undefined) {
        const at = Date.parse(change.at);
        await this.doc.send(
          new PutCommand({
            TableName: this.table,
            Item: { ...found, deletedAt: change.at, [TABLE_KEYS.ttlAttribute]: Math.floor(at / MS_PER_SECOND) + INTERFACE_LEDGER_SCHEMA.deletedTtlSeconds },
          }),
          opts,
        );
      }
      return {
        released: addresses.map((address) => ({ address, at: change.at, interfaceId: change.interfaceId, ...(description ? { description } : {}) })),
        assigned: [],
      };
    } catch (err) {
      throw new InterfaceLedgerError(change.interfaceId, { cause: err });
    }
  }
}
