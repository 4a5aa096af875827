/** Stream names of DESIGN.md. */
export const STREAMS = {
  exec: 'EXEC',
  results: 'RESULTS',
  events: 'EVENTS',
  obsEvents: 'OBS_EVENTS',
  inventory: 'INVENTORY',
  audit: 'AUDIT',
} as const;
export type StreamName = (typeof STREAMS)[keyof typeof STREAMS];

/** KV bucket names (KV names cannot contain '.', hence '_'). */
export const BUCKETS = {
  jobs: 'jobs',
  jobsYaml: 'jobs_yaml',
  schedules: 'schedules',
  schedulesYaml: 'schedules_yaml',
  schedulerState: 'scheduler_state',
  scriptCurrent: 'script_current',
  scriptStatus: 'script_status',
  agentsState: 'agents_state',
  agentConfig: 'agent_config',
  agentGroups: 'agent_groups',
  auth: 'auth',
} as const;
export type BucketName = (typeof BUCKETS)[keyof typeof BUCKETS];

/** Object store names. */
export const OBJECT_STORES = {
  resultOutput: 'result_output',
  scripts: 'scripts',
  appPackages: 'app_packages',
  agentReleases: 'agent_releases',
} as const;
export type ObjectStoreName = (typeof OBJECT_STORES)[keyof typeof OBJECT_STORES];

/** The JetStream stream behind a KV bucket or object store. */
export const kvStreamName = (bucket: string): string => `KV_${bucket}`;
export const objectStreamName = (store: string): string => `OBJ_${store}`;

/** Key of an overflowing output stream in `result_output`. */
export function resultOutputKey(requestId: string, pcId: string, stream: 'stdout' | 'stderr'): string {
  return `${requestId}/${pcId}/${stream}`;
}
