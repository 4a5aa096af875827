// The read side: a read-only connection to the projection and its query families. The CLI (and
// later the backend) read through this; they never write.
import { openReadOnlyDb, type Db } from './db.js';
import { agentQueries, type AgentQueries } from './queries-agents.js';
import { auditQueries, type AuditQueries } from './queries-audit.js';
import { inventoryQueries, type InventoryQueries } from './queries-inventory.js';
import { resultQueries, type ResultQueries } from './queries-results.js';
import { runQueries, type RunQueries } from './queries-runs.js';
import { timelineQueries, type TimelineQueries } from './queries-timeline.js';

export class ReadModel {
  readonly runs: RunQueries;
  readonly results: ResultQueries;
  readonly agents: AgentQueries;
  readonly timeline: TimelineQueries;
  readonly audit: AuditQueries;
  readonly inventory: InventoryQueries;

  private constructor(private readonly db: Db) {
    this.runs = runQueries(db);
    this.results = resultQueries(db);
    this.agents = agentQueries(db);
    this.timeline = timelineQueries(db);
    this.audit = auditQueries(db);
    this.inventory = inventoryQueries(db);
  }

  /** Opens an existing projection database read-only; throws when the file does not exist. */
  static open(path: string): ReadModel {
    return new ReadModel(openReadOnlyDb(path));
  }

  close(): void {
    this.db.close();
  }
}
