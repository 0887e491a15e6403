/**
 * Problems a check met that did not stop it (a store conflict given up, a notifier down, a log
 * read that failed or was cut), each with a stable code, the target it concerns and the line
 * on-call reads. The report keeps both: `problems` for code (the CLI tells a lost save, an
 * error, from a warning by its code), `errors` for people and for what was there before.
 */

/** What kind of problem (stable, kebab-case): the CLI and the Lambda's log sort on it. */
export type ProblemCode = 'save' | 'notify' | 'metrics' | 'flow-logs' | 'resolver-logs' | 'cache-census' | 'session-check' | 'writer-lookup' | 'delivery';

/** One problem of a check. */
export interface CheckProblem {
  code: ProblemCode;
  /** The line as `errors` holds it: `save app: ...`. */
  message: string;
  /** The target it concerns, when one. */
  target?: string;
}

/**
 * A check's problems as they happen: each both a record and a line. Given a report's two lists, it
 * appends to them (the CLI's problems after the engine's check).
 */
export class ProblemLog {
  constructor(
    readonly problems: CheckProblem[] = [],
    /** The same, as lines (the report's `errors`). */
    readonly lines: string[] = [],
  ) {}

  add(code: ProblemCode, message: string, target?: string): void {
    this.problems.push({ code, message, ...(target !== undefined ? { target } : {}) });
    this.lines.push(message);
  }
}
