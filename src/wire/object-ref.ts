/**
 * Script objects and app packages: `<name>/<version>` references to objects in the `scripts` and
 * `app_packages` stores, the pins an ExecRequest carries for them (sha256 resolved at publish
 * time), and the environment names a job's script finds its packages under.
 */
import { z } from 'zod';

import { NonNegativeInt, Sha256Hex } from './fields.js';

/** Longest name and longest version of an object reference. */
export const MAX_OBJECT_NAME_LENGTH = 64;
/** Most packages one job may fetch. */
export const MAX_JOB_PACKAGES = 16;

const NAME_PATTERN = /^[a-z0-9][a-z0-9_.-]*$/;
const VERSION_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.+-]*$/;

/** What a reference must look like; quoted by every error about one. */
export const OBJECT_REF_RULE =
  `must be <name>/<version>: name [a-z0-9][a-z0-9_.-]*, version [A-Za-z0-9][A-Za-z0-9_.+-]*, ` +
  `each at most ${MAX_OBJECT_NAME_LENGTH} characters, e.g. cleanup/1.2.0`;

/** `{name, version}` of a reference, or null when `text` is not one. */
export function parseObjectRef(text: string): { name: string; version: string } | null {
  const slash = text.indexOf('/');
  if (slash < 0) return null;
  const name = text.slice(0, slash);
  const version = text.slice(slash + 1);
  const ok =
    name.length <= MAX_OBJECT_NAME_LENGTH &&
    version.length <= MAX_OBJECT_NAME_LENGTH &&
    NAME_PATTERN.test(name) &&
    VERSION_PATTERN.test(version);
  return ok ? { name, version } : null;
}

/** A reference `<name>/<version>`, e.g. `cleanup/1.2.0`; also the object's name in its store. */
export const ObjectRef = z.string().refine((s) => parseObjectRef(s) !== null, { error: OBJECT_REF_RULE });
export type ObjectRef = z.infer<typeof ObjectRef>;

/**
 * The environment variable that holds the path of a job's package `name`:
 * `BATON_PACKAGE_<NAME>`, uppercased, every character other than A-Z and 0-9 as `_`
 * (`7zip-cli` → `BATON_PACKAGE_7ZIP_CLI`).
 */
export function packageEnvName(name: string): string {
  return `BATON_PACKAGE_${name.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`;
}

// A file name that is safe on every endpoint OS: no separators, no reserved characters, no
// control characters, not `.` or `..`.
const FILE_NAME_PATTERN = /^(?!\.{1,2}$)[^/\\:*?"<>|\p{Cc}]{1,255}$/u;
export const FILE_NAME_RULE =
  'must be a file name of 1-255 characters without / \\ : * ? " < > | or control characters';

/** The name a package is saved under on the endpoint (what `baton packages put` was given). */
export const PackageFileName = z.string().regex(FILE_NAME_PATTERN, { error: FILE_NAME_RULE });

/**
 * One package of an ExecRequest: the object, the sha256 and size it had when the request was
 * published (the agent refuses anything else), and the file name it gets on the endpoint.
 */
export const PackagePin = z.object({
  object: ObjectRef,
  sha256: Sha256Hex,
  size: NonNegativeInt,
  file: PackageFileName,
});
export type PackagePin = z.infer<typeof PackagePin>;
