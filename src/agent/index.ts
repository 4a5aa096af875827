export { Agent, EXEC_JOB_ID } from './agent.js';
export type { AgentOptions } from './agent.js';
export { CatalogCache } from './catalog-cache.js';
export { executeScript } from './executor.js';
export type { ExecuteOutcome, ExecuteSpec } from './executor.js';
export { DEFAULT_WORKER_LIMITS, Launcher } from './launcher.js';
export type { AgentWorkerData, LauncherMessage, LauncherOptions, WorkerCommand } from './launcher.js';
