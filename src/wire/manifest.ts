/**
 * Job manifests: the YAML shape operators write ({@link JobManifestInput}, snake_case, strict)
 * and the normalized shape stored as JSON in the `jobs` KV bucket ({@link JobManifest},
 * camelCase, durations in milliseconds). The JSON Schema for editors is generated from the same
 * zod schema, so the three cannot drift apart.
 */
import { z } from 'zod';

import { parseDuration } from './duration.js';
import { WireError } from './errors.js';
import { RetryOn, RunAs, Shell } from './exec-request.js';
import { MAX_JOB_PACKAGES, ObjectRef, packageEnvName, parseObjectRef } from './object-ref.js';
import { ParamDecl, ParamsInput, toParamDecls } from './params.js';

/** Longest job id, version and tag. */
export const MAX_JOB_ID_LENGTH = 64;
/** Most tags a job may carry. */
export const MAX_TAGS = 20;
/** Largest inline script, in characters: 1 MiB. */
export const MAX_SCRIPT_LENGTH = 1024 * 1024;
/** Shortest and longest job timeout, in milliseconds: 1s and 24h. */
export const MIN_TIMEOUT_MS = 1_000;
export const MAX_TIMEOUT_MS = 86_400_000;

// Same rule as `JobId` in ids.ts, written as a pattern so the JSON Schema carries it.
const JOB_ID_PATTERN = /^[a-z0-9][a-z0-9_-]*$/;

/** The job id of `baton exec` inline scripts, refused for catalog jobs. */
export const RESERVED_JOB_ID = 'exec';
const TAG_PATTERN = /^[a-z0-9][a-z0-9_.-]*$/;
const ENV_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/;
// Units largest first, each at most once; the lookahead refuses the empty string.
const DURATION_PATTERN = /^(?=\d)(\d+d)?(\d+h)?(\d+m)?(\d+s)?(\d+ms)?$/;

const ID_RULE = `must match [a-z0-9][a-z0-9_-]* (max ${MAX_JOB_ID_LENGTH} chars)`;
const VERSION_RULE = `must be 1-${MAX_JOB_ID_LENGTH} characters without whitespace, e.g. 1.2.0`;
const TAG_RULE = `must match [a-z0-9][a-z0-9_.-]* (max ${MAX_JOB_ID_LENGTH} chars)`;
const DURATION_RULE = 'must be a duration such as 30s, 5m or 1h30m (units d, h, m, s, ms, largest first)';

/** What a job's stdout feeds besides the result: `events` (timeline events, one per line). */
const EmitEvents = z.enum(['events'], { error: "must be 'events'" });

/** A duration string between 1s and 24h, e.g. `30s` or `1h30m`. */
const Timeout = z
  .string()
  .regex(DURATION_PATTERN, { error: DURATION_RULE })
  .superRefine((text, ctx) => {
    const ms = durationMs(text);
    if (ms !== undefined && (ms < MIN_TIMEOUT_MS || ms > MAX_TIMEOUT_MS)) {
      ctx.addIssue({ code: 'custom', message: `'${text}' is out of range; allowed 1s..24h`, input: text });
    }
  })
  .describe('Longest a run may take before the agent kills its process tree: 1s..24h, e.g. 30s, 10m, 1h30m.');

/** Shortest and longest retry backoff, in milliseconds: 1s and 1h. */
export const MIN_BACKOFF_MS = 1_000;
export const MAX_BACKOFF_MS = 3_600_000;
/** Most retries a job may declare. */
export const MAX_RETRIES = 10;

/** The `retry` section as written in YAML: opt-in repetition of runs that did not succeed. */
export const RetryInput = z
  .strictObject({
    max: z
      .int({ error: `must be an integer 1..${MAX_RETRIES}` })
      .min(1, { error: `must be an integer 1..${MAX_RETRIES}` })
      .max(MAX_RETRIES, { error: `must be an integer 1..${MAX_RETRIES}` })
      .describe(`Further attempts after the first, 1..${MAX_RETRIES}.`),
    backoff: z
      .string()
      .regex(DURATION_PATTERN, { error: DURATION_RULE })
      .superRefine((text, ctx) => {
        const ms = durationMs(text);
        if (ms !== undefined && (ms < MIN_BACKOFF_MS || ms > MAX_BACKOFF_MS)) {
          ctx.addIssue({ code: 'custom', message: `'${text}' is out of range; allowed 1s..1h`, input: text });
        }
      })
      .describe('Wait before the first retry, doubled for each further one (at most 1h): 1s..1h, e.g. 30s.'),
    on: z
      .array(RetryOn)
      .min(1, { error: 'must list at least one of agent_restarted, failed, timeout' })
      .default(['agent_restarted'])
      .describe(
        'Outcomes that are retried: agent_restarted (the agent crashed or rebooted while the script ran), failed (non-zero exit), timeout. Default: [agent_restarted].',
      ),
  })
  .describe(
    'Run again, on the same endpoint, after the outcomes in `on`, while attempts and time before the deadline are left. Default: never (an interrupted run is reported as error/agent_restarted).',
  );

/** The `execute` section of a job manifest as written in YAML. */
export const ExecuteInput = z
  .strictObject({
    shell: Shell.describe('Interpreter for the script: sh, bash, pwsh, powershell or cmd.'),
    script: z
      .string()
      .min(1, { error: 'must not be empty' })
      .max(MAX_SCRIPT_LENGTH, { error: 'must be at most 1 MiB' })
      .optional()
      .describe(
        'The script body, run by the shell; a block scalar (|) keeps its lines. Either this or script_object.',
      ),
    script_object: ObjectRef.optional().describe(
      'A script stored with `baton scripts put <name>/<version> <file>`, run instead of an inline script; its sha256 is pinned into each request when a run starts and checked by the agent.',
    ),
    packages: z
      .array(ObjectRef)
      .max(MAX_JOB_PACKAGES, { error: `at most ${MAX_JOB_PACKAGES} packages are allowed` })
      .optional()
      .describe(
        'App packages (`baton packages put`) the agent downloads before the script runs; the script finds each at $BATON_PACKAGE_<NAME>. Default: none.',
      ),
    timeout: Timeout,
    cwd: z
      .string()
      .min(1, { error: 'must not be empty' })
      .max(4096, { error: 'must be at most 4096 characters' })
      .optional()
      .describe('Working directory of the script. Default: chosen by the agent.'),
    env: z
      .record(z.string().regex(ENV_NAME_PATTERN, { error: 'must match [A-Za-z_][A-Za-z0-9_]*' }), z.string())
      .default({})
      .describe(
        'Extra environment variables; values are strings (quote numbers and booleans). Default: none.',
      ),
    run_as: RunAs.default('system').describe(
      "Account that runs the script: 'system' (the agent's service account) or 'user' (the logged-on user). Default: system.",
    ),
  })
  // `when`: also checked when other fields are invalid, so a missing script is reported together
  // with the other problems of the section.
  .superRefine(checkExecute, { when: () => true })
  .describe('How an agent runs the job.');

/** Exactly one of `script` and `script_object`; packages with distinct names. */
function checkExecute(value: unknown, ctx: z.RefinementCtx): void {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return;
  const e = value as { script?: unknown; script_object?: unknown; packages?: unknown };
  if (e.script === undefined && e.script_object === undefined) {
    ctx.addIssue({
      code: 'custom',
      path: ['script'],
      message:
        'required; write the script inline (script) or name a stored one (script_object: <name>/<version>)',
    });
  } else if (e.script !== undefined && e.script_object !== undefined) {
    ctx.addIssue({
      code: 'custom',
      path: ['script_object'],
      message: 'give either script or script_object, not both',
    });
  }
  if (!Array.isArray(e.packages)) return;
  const seen = new Map<string, string>();
  for (const [i, ref] of e.packages.entries()) {
    const parsed = typeof ref === 'string' ? parseObjectRef(ref) : null;
    if (!parsed) continue;
    const env = packageEnvName(parsed.name);
    const first = seen.get(env);
    if (first === undefined) seen.set(env, ref as string);
    else
      ctx.addIssue({
        code: 'custom',
        path: ['packages', i],
        message: `'${ref as string}' clashes with '${first}': both would be ${env}; a job takes one version of each package`,
      });
  }
}

/**
 * A job manifest as written in YAML (`kind: job`). Unknown keys are errors. Parsing fills in
 * the defaults: `tags: []`, `execute.env: {}`, `execute.run_as: system`.
 */
export const JobManifestInput = z
  .strictObject({
    kind: z.literal('job').describe("Document kind; 'job' for a job manifest."),
    id: z
      .string()
      .max(MAX_JOB_ID_LENGTH, { error: ID_RULE })
      .regex(JOB_ID_PATTERN, { error: ID_RULE })
      // `baton exec` runs inline scripts under this id; a catalog job with it would share its
      // exemption from the pin and revocation checks.
      .refine((id) => id !== RESERVED_JOB_ID, {
        error: `'${RESERVED_JOB_ID}' is reserved for baton exec; choose another id`,
      })
      .describe('Job id, unique in the fleet; lowercase letters, digits, - and _, e.g. disk-usage.'),
    version: z
      .string()
      .max(MAX_JOB_ID_LENGTH, { error: VERSION_RULE })
      .regex(/^\S+$/, { error: VERSION_RULE })
      .describe('Version of the job, semver by convention (1.2.0); agents run only the pinned version.'),
    description: z
      .string()
      .max(500, { error: 'must be at most 500 characters' })
      .optional()
      .describe('One or two sentences shown in the job list. Default: none.'),
    tags: z
      .array(z.string().max(MAX_JOB_ID_LENGTH, { error: TAG_RULE }).regex(TAG_PATTERN, { error: TAG_RULE }))
      .max(MAX_TAGS, { error: `at most ${MAX_TAGS} tags are allowed` })
      .default([])
      .describe('Labels for filtering, e.g. [inventory, linux]. Default: none.'),
    params: ParamsInput.optional(),
    emit: EmitEvents.optional().describe(
      "'events': each stdout line that is a JSON object with a `kind` becomes an event on the endpoint's timeline (docs/manifests.md). Default: none.",
    ),
    inventory: z
      .boolean()
      .optional()
      .describe(
        "true: the job's stdout (one JSON object) becomes the endpoint's inventory snapshot. Default: false.",
      ),
    retry: RetryInput.optional(),
    execute: ExecuteInput,
  })
  .refine((m) => !(m.emit === 'events' && m.inventory === true), {
    path: ['inventory'],
    error:
      "a job's stdout is either events (emit: events) or an inventory snapshot (inventory: true), not both",
  })
  .describe('A baton job manifest: what to run on an endpoint and how.');
/** The YAML shape as written (defaults not yet applied). */
export type JobManifestInput = z.input<typeof JobManifestInput>;

/**
 * A job manifest as stored in the `jobs` KV bucket. Readers accept unknown fields, so older
 * readers can load manifests written by newer builds.
 */
export const JobManifest = z.object({
  kind: z.literal('job'),
  id: z.string().regex(JOB_ID_PATTERN).max(MAX_JOB_ID_LENGTH),
  version: z.string().min(1),
  description: z.string().optional(),
  tags: z.array(z.string()),
  execute: z.object({
    shell: Shell,
    /** The inline script; absent when `scriptObject` names a stored one. */
    script: z.string().optional(),
    /** `<name>/<version>` in the `scripts` store; absent for an inline script. */
    scriptObject: z.string().optional(),
    /** `<name>/<version>` of each app package to fetch; absent: none. */
    packages: z.array(z.string()).optional(),
    timeoutMs: z.int().min(MIN_TIMEOUT_MS).max(MAX_TIMEOUT_MS),
    cwd: z.string().optional(),
    env: z.record(z.string(), z.string()),
    runAs: RunAs,
  }),
  /** Declared parameters by name; absent when the job declares none (docs/manifests.md). */
  params: z.record(z.string(), ParamDecl).optional(),
  /** `events`: stdout lines become timeline events; absent: stdout is only output. */
  emit: EmitEvents.optional(),
  /** True: stdout is the endpoint's inventory snapshot. Absent: false. */
  inventory: z.boolean().optional(),
  /** Retry policy; absent: never rerun. */
  retry: z
    .object({
      max: z.int().min(1).max(MAX_RETRIES),
      backoffMs: z.int().min(MIN_BACKOFF_MS).max(MAX_BACKOFF_MS),
      on: z.array(RetryOn).min(1),
    })
    .optional(),
});
export type JobManifest = z.infer<typeof JobManifest>;

/** Maps a validated YAML manifest to the stored shape: camelCase, timeout in milliseconds. */
export function toJobManifest(input: z.output<typeof JobManifestInput>): JobManifest {
  const { execute } = input;
  const timeoutMs = durationMs(execute.timeout);
  if (timeoutMs === undefined)
    throw new WireError(`invalid timeout '${execute.timeout}'`, { path: 'execute.timeout' });
  return {
    kind: 'job',
    id: input.id,
    version: input.version,
    ...(input.description === undefined ? {} : { description: input.description }),
    tags: input.tags,
    execute: {
      shell: execute.shell,
      ...(execute.script === undefined ? {} : { script: execute.script }),
      ...(execute.script_object === undefined ? {} : { scriptObject: execute.script_object }),
      ...(execute.packages === undefined || execute.packages.length === 0
        ? {}
        : { packages: execute.packages }),
      timeoutMs,
      ...(execute.cwd === undefined ? {} : { cwd: execute.cwd }),
      env: execute.env,
      runAs: execute.run_as,
    },
    // Left out when empty, so manifests without parameters are stored exactly as before.
    ...(input.params === undefined || Object.keys(input.params).length === 0
      ? {}
      : { params: toParamDecls(input.params) }),
    ...(input.emit === undefined ? {} : { emit: input.emit }),
    ...(input.inventory === true ? { inventory: true } : {}),
    ...(input.retry === undefined ? {} : { retry: toRetry(input.retry) }),
  };
}

function toRetry(r: z.output<typeof RetryInput>): NonNullable<JobManifest['retry']> {
  const backoffMs = durationMs(r.backoff);
  if (backoffMs === undefined)
    throw new WireError(`invalid backoff '${r.backoff}'`, { path: 'retry.backoff' });
  // Each outcome once, in a stable order, so the stored manifest does not depend on how it was listed.
  return { max: r.max, backoffMs, on: RetryOn.options.filter((o) => r.on.includes(o)) };
}

/**
 * JSON Schema (draft 2020-12) of the YAML format, with a description on every field; point
 * yaml-language-server at it (`# yaml-language-server: $schema=...`) for completion in editors.
 */
export function manifestJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(JobManifestInput, { target: 'draft-2020-12', io: 'input' });
  // The refinement "exactly one of script and script_object" has no JSON Schema of its own.
  const execute = schema.properties?.['execute'];
  if (typeof execute === 'object')
    execute.oneOf = [{ required: ['script'] }, { required: ['script_object'] }];
  return { ...schema, title: 'baton job manifest' };
}

/** Milliseconds of a duration string, or undefined when it is not one. */
function durationMs(text: string): number | undefined {
  try {
    return parseDuration(text);
  } catch (err) {
    if (err instanceof WireError) return undefined;
    throw err;
  }
}
