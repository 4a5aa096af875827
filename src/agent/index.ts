export { Agent, EXEC_JOB_ID } from './agent.js';
export type { AgentOptions } from './agent.js';
export { consumerName, ensureExecConsumer, filterSubjects } from './exec-consumer.js';
export { executeScript } from './executor.js';
export type { ExecuteOutcome, ExecuteSpec } from './executor.js';
