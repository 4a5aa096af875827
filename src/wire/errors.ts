/**
 * The one error class of the wire layer. Every malformed id, subject, duration or message ends
 * up here, so callers (projector, agent, backend) can tell "bad input from the wire" apart from
 * their own bugs with a single `instanceof` check, record it, and ack the message.
 */

/** Options of {@link WireError}; every field is optional. */
export interface WireErrorOptions {
  /** The underlying error (a ZodError, a JSON SyntaxError, ...). Default: none. */
  cause?: unknown;
  /** Dotted path of the offending field inside a message, e.g. `trigger.kind`. Default: none. */
  path?: string;
  /** The offending value, as received. Default: none. */
  value?: unknown;
}

/**
 * A value from or for the wire is invalid. The message quotes the bad value, says where it is
 * (message type, field path or subject) and what is allowed.
 */
export class WireError extends Error {
  override readonly name = 'WireError';
  /** Dotted path of the first offending field, when the error is about a message field. */
  readonly path: string | undefined;
  /** The first offending value, when known. */
  readonly value: unknown;

  constructor(message: string, options: WireErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.path = options.path;
    this.value = options.value;
  }
}

/** Longest rendering of a bad value inside an error message; longer values are cut with `…`. */
const QUOTE_LIMIT = 80;

/**
 * Renders a value for an error message: strings in double quotes (JSON escaping, so control
 * characters stay visible), other values as JSON, `undefined` as `(missing)`. Long values are cut
 * with `…`; a cut string also states its length.
 */
export function quote(value: unknown): string {
  if (value === undefined) return '(missing)';
  if (typeof value === 'function' || typeof value === 'symbol') return `<${typeof value}>`;
  if (typeof value === 'string' && value.length > QUOTE_LIMIT) {
    // Cut inside the quotes, so the reader still sees where the string starts and how long it is.
    const head = JSON.stringify(value.slice(0, QUOTE_LIMIT - 2));
    return `${head.slice(0, -1)}…" (${value.length} chars)`;
  }
  let text: string;
  try {
    text = typeof value === 'bigint' ? `${value}n` : (JSON.stringify(value) ?? `<${typeof value}>`);
  } catch {
    // Cyclic or otherwise unserialisable: fall back to the type, which is still informative.
    text = `<${typeof value}>`;
  }
  return text.length > QUOTE_LIMIT ? `${text.slice(0, QUOTE_LIMIT - 1)}…` : text;
}
