#!/usr/bin/env node
// The `baton` command. Each command family registers itself from its own module.
import { Command } from 'commander';
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
import { EXIT } from './exit-codes.js';

const program = new Command('baton')
  .description('baton: jobs for fleets of endpoints on NATS JetStream')
  .option(
    '--server <url>',
    'NATS URL (env BATON_NATS_URL; default from .baton/context.json, else nats://127.0.0.1:4222)',
  )
  .option('--api <url>', 'backend API URL (env BATON_API_URL)')
  .option('--token <token>', 'API token (env BATON_TOKEN)')
  .option('--creds <file>', 'NATS credentials file (env BATON_NATS_CREDS; default from .baton/context.json)')
  .option('--ca <file>', "CA file to verify the NATS server's TLS certificate (env BATON_NATS_CA)")
  .option('--authority <dir>', 'NATS authority folder, to enroll and revoke agents (env BATON_AUTHORITY)')
  .option('--json', 'print JSON for programs instead of tables')
  .showHelpAfterError()
  .exitOverride((err) => {
    // commander's own errors (unknown option, missing argument) are usage errors.
    process.exit(err.exitCode === 0 ? EXIT.ok : EXIT.usage);
  });

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

await program.parseAsync(process.argv);
