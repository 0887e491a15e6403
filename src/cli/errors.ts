/** CLI failure modes and their exit codes. */
import { IpdriftError } from '../core/errors.ts';
/** CLI exit statuses (README, "CLI"): 3 is also what an internal error exits with: the check did not complete. */
export const EXIT = { ok: 0, findings: 1, usage: 2, incomplete: 3, internal: 3 } as const;

/** Wrong flags or arguments; exit 2 with the command's usage. */
export class UsageError extends IpdriftError {
  override readonly name = 'UsageError';
  readonly code = 'usage';
  constructor(
    message: string,
    readonly usage?: string,
  ) {
    super(message);
  }
}
