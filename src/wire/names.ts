// The rule of pc ids and group names, without zod: `baton agent`'s launcher thread checks a pc id
// with it and must not load zod (about 12 MiB of RSS; docs/agents.md, "Self-update").
// ids.ts builds the zod schemas on it.

/** Longest allowed subject token (pc id, group, request id, ...). */
export const MAX_TOKEN_LENGTH = 128;

/**
 * Names that would make a subject ambiguous: `ctl.all.<verb>` is the fleet-wide control
 * subject, so no endpoint or group may be called `all` (or `group`).
 */
export const RESERVED_NAMES: readonly string[] = ['all', 'group'];

const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]*$/;
export const NAME_RULE = `must be 1-${MAX_TOKEN_LENGTH} letters, digits, '-' or '_', starting with a letter or digit, and not 'all' or 'group'`;

/** True when `s` is a valid pc id or group name. */
export function isName(s: string): boolean {
  return s.length <= MAX_TOKEN_LENGTH && NAME_PATTERN.test(s) && !RESERVED_NAMES.includes(s.toLowerCase());
}
