#!/usr/bin/env node
// The `baton` command. Each command family registers itself from its own module (commands.ts).
// `baton agent` loads its own module only: its main thread is the launcher and stays up for the
// agent's whole life, so it must not hold every command's dependencies (docs/agents.md,
// "Self-update").
import { Command } from 'commander';
import { EXIT } from './exit-codes.js';

/** Global options that take a value (the command name is the first argument that is none of these). */
const GLOBAL_VALUE_OPTIONS = new Set(['--server', '--api', '--token', '--creds', '--ca', '--authority']);

/** The command name in `args` (after node and the script), or undefined. */
function commandName(args: string[]): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--') return args[i + 1];
    if (!a.startsWith('-')) return a;
    if (GLOBAL_VALUE_OPTIONS.has(a)) i++;
  }
  return undefined;
}

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

if (commandName(process.argv.slice(2)) === 'agent') {
  const { registerAgentCommand } = await import('./agent-command.js');
  registerAgentCommand(program);
} else {
  const { registerCommands } = await import('./commands.js');
  registerCommands(program);
}

await program.parseAsync(process.argv);
