import { GroupName, PcId, type ExecTarget } from '../wire/index.js';
import { CliError, EXIT } from './exit-codes.js';

/** Parses `all`, `group:<g>`, `pc:<id>`, comma separated, into targets (duplicates dropped). */
export function parseTargets(raw: string): ExecTarget[] {
  const out: ExecTarget[] = [];
  const seen = new Set<string>();
  for (const part of raw
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    let t: ExecTarget;
    if (part === 'all') t = { kind: 'all' };
    else if (part.startsWith('group:')) {
      const group = part.slice(6);
      if (!GroupName.safeParse(group).success)
        throw new CliError(
          `--target: '${group}' is not a valid group name (letters, digits, '_' and '-')`,
          EXIT.usage,
        );
      t = { kind: 'group', group };
    } else if (part.startsWith('pc:')) {
      const pcId = part.slice(3);
      if (!PcId.safeParse(pcId).success)
        throw new CliError(
          `--target: '${pcId}' is not a valid pc id (letters, digits, '_' and '-')`,
          EXIT.usage,
        );
      t = { kind: 'pc', pcId };
    } else {
      throw new CliError(
        `--target: '${part}' is not a target; use all, group:<name> or pc:<id> (comma separated)`,
        EXIT.usage,
      );
    }
    const key = JSON.stringify(t);
    if (!seen.has(key)) out.push(t);
    seen.add(key);
  }
  if (out.length === 0)
    throw new CliError('--target: give at least one of all, group:<name>, pc:<id>', EXIT.usage);
  return out;
}

/**
 * Parses `key=value` pairs of `--param` (the value is everything after the first `=`, taken
 * literally). A name given twice is an error rather than a silent last-wins. The values are
 * checked against the job's declarations by startExecution.
 */
export function parseParams(pairs: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of pairs) {
    const i = p.indexOf('=');
    if (i <= 0) throw new CliError(`--param: ${JSON.stringify(p)} is not key=value`, EXIT.usage);
    const key = p.slice(0, i);
    if (Object.hasOwn(out, key)) throw new CliError(`--param: '${key}' is given twice`, EXIT.usage);
    out[key] = p.slice(i + 1);
  }
  return out;
}
