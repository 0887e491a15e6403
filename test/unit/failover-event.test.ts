import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { clusterOfEvent } from '../../src/lambda/failover-watch.ts';
import type { RdsClusterEvent } from '../../src/lambda/failover-watch.ts';

/** AWS's documented sample cluster event (source: test/fixtures/events/rds-cluster-event-docs.source.md). */
const DOC_EVENT = JSON.parse(readFileSync(join(import.meta.dirname, '../fixtures/events/rds-cluster-event-docs.json'), 'utf8')) as RdsClusterEvent;

describe('the cluster an RDS event is about', () => {
  it.each([
    ['the documented sample (resources ARN, "rds:" in SourceIdentifier)', DOC_EVENT],
    [
      'as accounts deliver it, without resources (the bare name)',
      { ...DOC_EVENT, resources: [], detail: { ...DOC_EVENT.detail, SourceArn: undefined, SourceIdentifier: 'my-db-cluster' } },
    ],
    ['"rds:" prefix and no ARN at all', { ...DOC_EVENT, resources: [], detail: { ...DOC_EVENT.detail, SourceArn: undefined } }],
    ['mixed case in the identifier', { ...DOC_EVENT, resources: [], detail: { ...DOC_EVENT.detail, SourceArn: undefined, SourceIdentifier: 'My-DB-Cluster' } }],
  ] as const)('%s: my-db-cluster', (_name, event) => {
    expect(clusterOfEvent(event as RdsClusterEvent)).toBe('my-db-cluster');
  });
});
