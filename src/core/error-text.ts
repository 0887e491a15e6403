/** The message of anything thrown (an Error's, or its string form). Imports nothing. */
export const errorMessage = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/** `Name: message` of anything thrown: what an SDK error is (AccessDeniedException: ...). */
export const errorWithName = (err: unknown): string => (err instanceof Error ? `${err.name}: ${err.message}` : String(err));
