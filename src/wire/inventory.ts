/**
 * Inventory: a snapshot of facts about an endpoint (hardware, OS, installed software), published
 * on `inventory.<pc_id>`. The agent sends a `builtin` one; jobs may send their own.
 */
import { z } from 'zod';

import { decodeMessage, encodeMessage } from './codec.js';
import { EventId, JsonRecord, Timestamp, WireVersion } from './fields.js';
import { JobId, PcId } from './ids.js';

/** `builtin`: collected by the agent itself; `job`: emitted by the script of `jobId`. */
export const InventorySource = z.enum(['builtin', 'job']);
export type InventorySource = z.infer<typeof InventorySource>;

/** Inventory, wire version 1. `jobId` is required when `source` is `job`. */
export const Inventory = z
  .object({
    v: WireVersion,
    /**
     * Unique snapshot id, also the `Nats-Msg-Id`: deterministic where a retry must land once
     * (`inv.<requestId>.<pcId>` for a job's, `inv.builtin.<pcId>.<ms>` for the agent's).
     */
    id: EventId,
    pcId: PcId,
    /** When the snapshot was taken. */
    at: Timestamp,
    source: InventorySource,
    /** The job that produced it; only with `source: 'job'`. */
    jobId: JobId.optional(),
    /** The facts, any JSON object. */
    data: JsonRecord,
  })
  .superRefine((inv, ctx) => {
    if (inv.source === 'job' && inv.jobId === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['jobId'],
        message: "required field is missing (needed when source is 'job')",
      });
    }
  });
export type Inventory = z.infer<typeof Inventory>;
/** What a writer passes to {@link encodeInventory}. */
export type InventoryInput = z.input<typeof Inventory>;

/** Reads an Inventory (JSON value, bytes or string); unknown fields are dropped. Throws WireError. */
export function parseInventory(json: unknown): Inventory {
  return decodeMessage(Inventory, 'Inventory', json);
}

/** Writes an Inventory as UTF-8 JSON; unknown fields are rejected. Throws WireError. */
export function encodeInventory(msg: InventoryInput): Uint8Array {
  return encodeMessage(Inventory, 'Inventory', msg);
}
