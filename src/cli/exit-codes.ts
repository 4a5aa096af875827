/** Distinct exit codes of the `baton` command (docs/cli.md lists them). */
export const EXIT = {
  ok: 0,
  /** The operation ran and failed (a run with failed results, a failed check). */
  failed: 1,
  /** Bad input: flags, YAML, values. Nothing was changed. */
  usage: 2,
  /** A compare-and-swap conflict or a refused overwrite of a human edit. Nothing was changed. */
  conflict: 3,
  /** The named object does not exist. */
  notFound: 4,
  /** NATS or the API cannot be reached, or the server is unsuitable. */
  unavailable: 5,
  /** Interrupted by the user (Ctrl-C). */
  interrupted: 130,
} as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** An error the CLI reports as one message line and a chosen exit code. */
export class CliError extends Error {
  override name = 'CliError';
  constructor(
    message: string,
    readonly exitCode: ExitCode,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}
