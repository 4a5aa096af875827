export { Agent, EXEC_JOB_ID } from './agent.js';
export type { AgentOptions } from './agent.js';
export { executeScript } from './executor.js';
export type { ExecuteOutcome, ExecuteSpec } from './executor.js';
