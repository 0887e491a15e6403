/**
 * The base of every ipdrift error. `code` names the failure mode, kebab-case and stable (for logs,
 * tests and whoever catches it); `name` is the class; `cause` keeps what went wrong below. Imports nothing.
 */
export abstract class IpdriftError extends Error {
  abstract readonly code: string;
}

/** A value the types say cannot exist reached the code (a target type or kind added without its case). */
export class UnreachableError extends IpdriftError {
  override readonly name = 'UnreachableError';
  readonly code = 'unreachable';
}

/**
 * The `default` of an exhaustive switch: it fails to compile when a case is missing (`value` is
 * then not `never`), and throws if a value the types did not know arrives anyway.
 */
export function unreachable(value: never, what: string): never {
  throw new UnreachableError(`${what}: ${JSON.stringify(value)} is not handled`);
}
