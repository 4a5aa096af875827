// Every command of `baton`, registered in the order `baton --help` lists them. main.ts loads this
// module for every command but `baton agent`, whose launcher thread must stay small.
import type { Command } from 'commander';
import { registerNatsCommands } from './nats-commands.js';
import { registerUp } from './up.js';
import { registerCatalogCommands } from './catalog-commands.js';
import { registerAuditCommand } from './audit-command.js';
import { registerAgentCommand } from './agent-command.js';
import { registerAgentReleaseCommands } from './agent-release-command.js';
import { registerRunCommands } from './run-commands.js';
import { registerFleetCommands } from './fleet-commands.js';
import { registerScheduleCommands } from './schedule-commands.js';
import { registerSchedulerCommand } from './scheduler-command.js';
import { registerProjectorCommands } from './projector-commands.js';
import { registerRunsCommands } from './runs-commands.js';
import { registerTimelineCommands } from './timeline-commands.js';
import { registerInventoryCommand } from './inventory-command.js';
import { registerBackendCommand } from './backend-command.js';
import { registerApiCommand } from './api-command.js';
import { registerArtifactCommands } from './artifact-commands.js';

export function registerCommands(program: Command): void {
  registerUp(program);
  registerNatsCommands(program);
  registerCatalogCommands(program);
  registerArtifactCommands(program);
  registerAuditCommand(program);
  registerAgentCommand(program);
  registerAgentReleaseCommands(program);
  registerRunCommands(program);
  registerFleetCommands(program);
  registerScheduleCommands(program);
  registerSchedulerCommand(program);
  registerProjectorCommands(program);
  registerRunsCommands(program);
  registerTimelineCommands(program);
  registerInventoryCommand(program);
  registerBackendCommand(program);
  registerApiCommand(program);
}
