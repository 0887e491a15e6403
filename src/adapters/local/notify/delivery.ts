/**
 * The CLI's notifier: each transition is printed and queued, durably, for every sink that hears
 * it (outbox.ts); after the check, `flush` delivers each sink's queue in order within a budget.
 * A notice a sink could not deliver stays queued and goes first next check: never lost, never
 * sent twice to a sink that took it, and a down receiver never holds up the others.
 */
import type { Notifier } from '../../../core/ports.ts';
import type { CheckReport } from '../../../core/report.ts';
import type { AlertTransition, Clock } from '../../../core/types.ts';
import { errorMessage } from '../../../core/error-text.ts';
import type { Outbox, Queued } from './outbox.ts';
import { DeliveryError, stoppedBecause } from './types.ts';
import type { Sink } from './types.ts';

/** Notices delivered per sink per check at most (bounded work; the rest go next check). */
export const MAX_DELIVERIES_PER_FLUSH = 100;

/** What one sink's flush did. */
export interface SinkFlush {
  sink: string;
  delivered: number;
  /** Still queued after the flush (retried next check). */
  queued: number;
  /** Refused for good and set aside (paths in `errors`). */
  refused: number;
  /** A delivery or the re-post failed (the notices stay queued). */
  failed: boolean;
  /** The open alerts were re-posted (Alertmanager). */
  refreshed?: boolean;
  /** Why something was not delivered; empty when all went well. */
  errors: string[];
}

/** Prints and queues transitions (the engine's Notifier), then delivers the queues. */
export class DeliveryNotifier implements Notifier {
  constructor(
    private readonly sinks: readonly Sink[],
    private readonly outbox: Outbox,
    private readonly clock: Clock,
    private readonly print: (t: AlertTransition) => void,
  ) {}

  /** The sinks' names, in the config's order (the exporter's `sink` label). */
  get sinkNames(): string[] {
    return this.sinks.map((s) => s.name);
  }

  /**
   * Printed, then accepted once every sink that hears `t` has it on disk; a failed write throws
   * (the engine sends it again next check; a sink that has it already is not given it twice).
   */
  async notify(t: AlertTransition): Promise<void> {
    // First: a full disk must not hide the notice from the terminal too.
    this.print(t);
    const now = this.clock.now();
    for (const sink of this.sinks) if (sink.wants(t)) await this.outbox.put(sink.name, t, sink.destination, now);
  }

  /**
   * Delivers every sink's queue, oldest first, stopping a sink at its first failure (order per
   * sink is kept), then lets sinks that need it re-post the open alerts. All sinks at once,
   * all within `budgetMs`.
   */
  async flush(report: CheckReport, budgetMs: number, stop?: AbortSignal): Promise<SinkFlush[]> {
    const signal = AbortSignal.any([AbortSignal.timeout(Math.max(1, budgetMs)), ...(stop ? [stop] : [])]);
    const flushes = await Promise.all(this.sinks.map((sink) => this.flushOne(sink, report, signal)));
    // Once per process: queues left by a sink the config no longer has (renamed, removed) are said, never sent elsewhere.
    if (!this.straysTold) {
      this.straysTold = true;
      const known = new Set(this.sinks.map((s) => s.name));
      for (const dir of await this.outbox.sinks()) {
        if (known.has(dir)) continue;
        const said = await this.outbox.list(dir, 0).then(
          ({ total }) => (total > 0 ? { total, text: `${total} notice(s) queued for a sink the config no longer names; kept, not sent` } : undefined),
          (err: unknown) => ({ total: 0, text: `cannot read the queue of a sink the config no longer names: ${errorMessage(err)}` }),
        );
        if (said) flushes.push({ sink: dir, delivered: 0, queued: said.total, refused: 0, failed: true, errors: [said.text] });
      }
    }
    return flushes;
  }

  private straysTold = false;

  private async flushOne(sink: Sink, report: CheckReport, signal: AbortSignal): Promise<SinkFlush> {
    const out: SinkFlush = { sink: sink.name, delivered: 0, queued: 0, refused: 0, failed: false, errors: [] };
    /** Takes `q` out of the queue into refused/, and says why (`say` gets where it was kept). */
    const setAside = async (q: Queued, reason: string, say: (kept: string) => string) => {
      const kept = await this.outbox.refuse(sink.name, q, reason);
      out.refused++;
      out.queued--;
      out.errors.push(say(kept));
    };
    try {
      const { queued, total, unreadable } = await this.outbox.list(sink.name, MAX_DELIVERIES_PER_FLUSH);
      out.errors.push(...unreadable.map((u) => `queued notice unreadable, left in place: ${u}`));
      out.queued = total;
      for (const q of queued) {
        // Queued for another receiver (the list was reordered, a URL changed): never sent to this one.
        if (q.delivery.destination !== sink.destination) {
          await setAside(
            q,
            'queued for another receiver of this sink name',
            (kept) => `a notice queued for another receiver of "${sink.name}" (the config changed): not sent, set aside in ${kept}`,
          );
          continue;
        }
        if (signal.aborted) {
          out.errors.push(`${stoppedBecause(signal)}; ${out.queued} notice(s) wait for the next check`);
          break;
        }
        try {
          await sink.deliver(q.delivery, signal);
          await this.outbox.done(sink.name, q);
          out.delivered++;
          out.queued--;
        } catch (err) {
          if (err instanceof DeliveryError && err.permanent) {
            await setAside(q, err.message, (kept) => `${err.message}: refused for good, set aside in ${kept}`);
            continue;
          }
          out.failed = true;
          out.errors.push(`${errorMessage(err)}; ${out.queued} notice(s) kept, retried next check`);
          break;
        }
      }
      if (out.delivered > 0) await this.outbox.prune(sink.name);
      if (sink.refresh && !signal.aborted) {
        const open = report.openPaging.filter((a) => report.targets.some((t) => t.target === a.target));
        await sink.refresh(open, this.clock.now(), signal);
        out.refreshed = true;
      }
    } catch (err) {
      out.failed = true;
      out.errors.push(errorMessage(err));
    }
    return out;
  }
}
