/**
 * The base of every ipdrift error. `code` names the failure mode, kebab-case and stable (for logs,
 * tests and whoever catches it); `name` is the class; `cause` keeps what went wrong below. Imports nothing.
 */
export abstract class IpdriftError extends Error {
  abstract readonly code: string;
}
