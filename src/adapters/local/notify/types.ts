/**
 * Notice delivery from the CLI (README, "Notifications from the CLI"): one file per sink type,
 * one shape (blackbox_exporter's prober/ model); `delivery.ts` owns the queue, the order, the
 * budget and the retries across checks.
 */
import { IpdriftError } from '../../../core/errors.ts';
import type { AlertTransition, FindingKind, Severity } from '../../../core/types.ts';

/** One queued notice: a transition and the id receivers may deduplicate on. */
export interface Delivery {
  /** Stable across retries: `X-Ipdrift-Delivery`, the JSON's `id`. */
  id: string;
  queuedAt: string;
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
  /** Whether this sink hears `t` (its audience). */
  wants(t: AlertTransition): boolean;
  deliver(d: Delivery, signal: AbortSignal): Promise<void>;
  /** After each check, with the paging alerts open now: a sink whose receiver forgets (Alertmanager) re-posts them. */
  refresh?(open: readonly OpenAlert[], now: Date, signal: AbortSignal): Promise<void>;
}

/**
 * A notice was not delivered. `permanent`: the receiver refused this notice itself (HTTP 4xx other
 * than 408 and 429): retrying cannot help, so it is set aside (kept, never lost) and the queue goes on.
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
