/**
 * Failure modes of the Aurora writer lookup and of a failover request, one class each, so that
 * callers branch on the class rather than on message text. Adapters (src/adapters/aws/, the lab)
 * throw them; the engine catches them and turns them into report errors, never into a crash.
 */
import { IpdriftError } from '../errors.ts';

/** Why a writer lookup failed. */
export type WriterLookupErrorCode = 'not-found' | 'no-writer' | 'access-denied' | 'throttled' | 'error';

/** The writer of a cluster could not be read from the RDS API (base class of the lookup failures). */
export class WriterLookupError extends IpdriftError {
  override readonly name: string = 'WriterLookupError';
  constructor(
    readonly code: WriterLookupErrorCode,
    readonly clusterIdentifier: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The RDS API knows no cluster of that identifier (in that region). */
export class ClusterNotFoundError extends WriterLookupError {
  override readonly name = 'ClusterNotFoundError';
  constructor(clusterIdentifier: string, region: string | undefined, options?: { cause?: unknown }) {
    super('not-found', clusterIdentifier, `no DB cluster "${clusterIdentifier}"${region ? ` in ${region}` : ''}`, options);
  }
}

/**
 * The cluster exists but no member is marked writer. Normal for a moment during a failover,
 * so the failover sampler records it as an observation rather than a failure.
 */
export class NoWriterError extends WriterLookupError {
  override readonly name = 'NoWriterError';
  constructor(
    clusterIdentifier: string,
    readonly members: readonly { id: string; isWriter: boolean }[],
    options?: { cause?: unknown },
  ) {
    super('no-writer', clusterIdentifier, `DB cluster "${clusterIdentifier}" has no writer right now (${members.length} member(s))`, options);
  }
}

/** RDS refused to start a failover (cluster not available, single instance, target not a member...). */
export class FailoverRefusedError extends IpdriftError {
  override readonly name = 'FailoverRefusedError';
  readonly code = 'failover-refused';
  constructor(
    readonly clusterIdentifier: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
