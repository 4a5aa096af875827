export { Agent, EXEC_JOB_ID } from './agent.js';
export type { AgentOptions } from './agent.js';
export { executeScript } from './executor.js';
export type { ExecuteOutcome, ExecuteSpec } from './executor.js';
export { Launcher } from './launcher.js';
export type { LauncherMessage, LauncherOptions } from './launcher.js';
