/** A compare-and-swap failed or an overwrite of a human edit was refused. Nothing was written. */
export class ConflictError extends Error {
  override name = 'ConflictError';
}

/** The named object does not exist (or was deleted). */
export class NotFoundError extends Error {
  override name = 'NotFoundError';
}

/** True when a KV write failed because the key's revision was not the expected one. */
export function isRevisionMismatch(err: unknown): boolean {
  const e = err as { message?: string; code?: number; apiError?: () => { err_code?: number } };
  const code = typeof e?.apiError === 'function' ? e.apiError().err_code : undefined;
  return code === 10071 || /wrong last sequence|key exists/i.test(e?.message ?? '');
}

/** An input the library refuses before writing anything (a bad reference, not a file). */
export class InvalidInputError extends Error {
  override name = 'InvalidInputError';
}
