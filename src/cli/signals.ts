/**
 * Ctrl-C and SIGTERM for the commands that do work (check, watch): the first signal stops the work
 * through an AbortSignal (the check in flight is cut at its next step, a notify command's process
 * group is killed, a state save finishes); a second one is Node's default, an exit at once.
 */
import { constants as osConstants } from 'node:os';

/** A process stopped by signal N exits 128+N (the shell's convention: 130 for Ctrl-C, 143 for SIGTERM). */
const SIGNAL_EXIT_BASE = 128;

type StopSignal = 'SIGINT' | 'SIGTERM';

/** What {@link stopOnSignals} gives a command. */
export interface SignalStop {
  /** Aborted by the first SIGINT or SIGTERM. */
  readonly signal: AbortSignal;
  /** The signal that stopped the work, if one did. */
  received(): StopSignal | undefined;
  /** 128+N when a signal stopped the work, else `exit`. */
  exitCode(exit: number): number;
  /** Gives the signals back to Node's defaults. */
  dispose(): void;
}

/** Listens for SIGINT and SIGTERM once each, until `dispose`. */
export function stopOnSignals(): SignalStop {
  const stop = new AbortController();
  let received: StopSignal | undefined;
  const on = (signal: StopSignal) => () => {
    received ??= signal;
    stop.abort();
  };
  const onInt = on('SIGINT');
  const onTerm = on('SIGTERM');
  process.once('SIGINT', onInt);
  process.once('SIGTERM', onTerm);
  return {
    signal: stop.signal,
    received: () => received,
    exitCode: (exit) => (received ? SIGNAL_EXIT_BASE + osConstants.signals[received] : exit),
    dispose() {
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
    },
  };
}
