// Turning a command's errors into one message line and an exit code. Matched by error name, not
// class, so that this module loads nothing else: `baton agent`'s launcher thread uses it and stays
// small (docs/agents.md, "Self-update").
import type { Command } from 'commander';
import { CliError, EXIT, type ExitCode } from './exit-codes.js';

/** Maps an error to the message printed and the exit code. Named errors of the library map here. */
export function classify(err: unknown): { message: string; code: ExitCode } {
  if (err instanceof CliError) return { message: err.message, code: err.exitCode };
  const e = err as Error & { exitCode?: ExitCode };
  switch (e?.name) {
    case 'ManifestError':
    case 'ParamsError':
    case 'WireError':
    case 'ZodError':
    case 'InvalidInputError':
      return { message: e.message, code: EXIT.usage };
    case 'ConflictError':
      return { message: e.message, code: EXIT.conflict };
    case 'NotFoundError':
      return { message: e.message, code: EXIT.notFound };
    case 'EnrollmentError':
      return { message: e.message, code: EXIT.failed };
    case 'NatsConnectError':
    case 'AuthorityError':
    case 'NatsBinaryError':
    case 'NatsProcessError':
      return { message: e.message, code: EXIT.unavailable };
    default:
      return { message: e instanceof Error ? e.message : String(err), code: EXIT.failed };
  }
}

/** Wraps a command action so that errors print one clear message and set the exit code. */
export function action<A extends unknown[]>(
  fn: (this: Command, ...args: A) => Promise<void | number>,
): (this: Command, ...args: A) => Promise<void> {
  return async function (this: Command, ...args: A) {
    try {
      const code = await fn.apply(this, args);
      if (typeof code === 'number') process.exitCode = code;
    } catch (err) {
      const { message, code } = classify(err);
      process.stderr.write(`baton: ${message}\n`);
      if (process.env['BATON_DEBUG'] && err instanceof Error && err.stack)
        process.stderr.write(`${err.stack}\n`);
      process.exitCode = code;
    }
  };
}
