/** CLI failure modes and their exit codes. */
export const EXIT = { ok: 0, findings: 1, usage: 2, internal: 3 } as const;

/** Wrong flags or arguments; exit 2 with the command's usage. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
  constructor(
    message: string,
    readonly usage?: string,
  ) {
    super(message);
  }
}
