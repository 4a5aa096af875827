/**
 * Where an exec request (or a control command) is addressed: the whole fleet, one group, or one
 * endpoint. Each maps to one subject (`exec.all`, `exec.group.<g>`, `exec.pc.<pc_id>`).
 */
import { z } from 'zod';

import { GroupName, PcId } from './ids.js';

/** Every endpoint. */
export const AllTarget = z.object({ kind: z.literal('all') });
/** The endpoints that are members of `group`. */
export const GroupTarget = z.object({ kind: z.literal('group'), group: GroupName });
/** One endpoint. */
export const PcTarget = z.object({ kind: z.literal('pc'), pcId: PcId });

/** `{kind:'all'}` | `{kind:'group', group}` | `{kind:'pc', pcId}`. */
export const ExecTarget = z.discriminatedUnion('kind', [AllTarget, GroupTarget, PcTarget]);
export type ExecTarget = z.infer<typeof ExecTarget>;

/** A short human form: `all`, `group:lab-a`, `pc:web-01`. */
export function formatTarget(target: ExecTarget): string {
  switch (target.kind) {
    case 'all':
      return 'all';
    case 'group':
      return `group:${target.group}`;
    case 'pc':
      return `pc:${target.pcId}`;
    default:
      return unreachable(target);
  }
}

function unreachable(value: never): never {
  throw new Error(`unhandled target ${JSON.stringify(value)}`);
}
