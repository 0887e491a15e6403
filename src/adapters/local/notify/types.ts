/**
 * Notice delivery from the CLI (README, "Notifications from the CLI"): one file per sink type,
 * one shape (blackbox_exporter's prober/ model); `delivery.ts` owns the queue, the order, the
 * budget and the retries across checks.
 */
import { createHash } from 'node:crypto';
import { IpdriftError } from '../../../core/errors.ts';
import type { NOTIFY_AUDIENCES } from '../../../core/config.ts';
import { audienceOf } from '../../../core/notice.ts';
import type { AlertTransition, FindingKind, Severity } from '../../../core/types.ts';

/** One queued notice: a transition and the id receivers may deduplicate on. */
export interface Delivery {
  /** The same for every sink and every re-send of this notice (outbox.ts noticeId): `X-Ipdrift-Delivery`, the JSON's `id`. */
  id: string;
  queuedAt: string;
  /** Which receiver it was queued for (a digest of the sink's type and URL or command). */
  destination: string;
  transition: AlertTransition;
}

/** A paging alert open after a check (what Alertmanager must keep firing). */
export interface OpenAlert {
  key: string;
  target: string;
  kind: FindingKind;
  severity: Severity;
  openedAt: string;
  summary: string;
}

/** Where notices go. `deliver` throws a DeliveryError when the notice was not delivered. */
export interface Sink {
  readonly name: string;
  /**
   * A digest of the receiver (type, and a URL's origin or a command's program): a queue left for
   * another receiver is never sent to this one, and a new token in a webhook's path keeps the queue.
   */
  readonly destination: string;
  /** Whether this sink hears `t` (its audience). */
  wants(t: AlertTransition): boolean;
  deliver(d: Delivery, signal: AbortSignal): Promise<void>;
  /** After each check, with the paging alerts open now: a sink whose receiver forgets (Alertmanager) re-posts them. */
  refresh?(open: readonly OpenAlert[], now: Date, signal: AbortSignal): Promise<void>;
}

/** Why a delivery's signal stopped it: its budget (a timeout), or ipdrift itself stopping (Ctrl-C, SIGTERM). */
export const stoppedBecause = (signal: AbortSignal) =>
  (signal.reason as Error | undefined)?.name === 'TimeoutError' ? 'the delivery budget ran out' : 'ipdrift was stopped';

/** Whether a sink of `audience` (its config's) hears `t`: the SNS rule (core/notice.ts audienceOf), or both. */
export const hears = (audience: (typeof NOTIFY_AUDIENCES)[number], t: AlertTransition) => audience === 'all' || audience === audienceOf(t);

/** A sink's destination digest from its type and receiver (a URL's origin, or a program). */
export const destinationOf = (...parts: string[]) => createHash('sha256').update(parts.join('\0')).digest('hex').slice(0, 16);

/**
 * A notice was not delivered. `permanent`: the receiver refused this notice itself (HTTP 400, 413,
 * 422): retrying cannot help, so it is set aside (kept, never lost) and the queue goes on.
 */
export class DeliveryError extends IpdriftError {
  override readonly name = 'DeliveryError';
  readonly code = 'delivery-failed';
  constructor(
    message: string,
    readonly permanent: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
