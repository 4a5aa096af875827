// Entry module of src/scheduler: explicit named exports.
export { systemClock } from './clock.js';
export type { Clock } from './clock.js';
export {
  MAX_LISTED_SKIPS,
  MAX_PLANNED_FIRES,
  ON_TIME_MS,
  fireExecId,
  lastCovered,
  nextFire,
  planDueFires,
} from './fire-plan.js';
export type { FireDecision, SkipReason } from './fire-plan.js';
export { runSchedule } from './schedule-runner.js';
export type { RunnerDeps, RunnerSchedule, SkipDecision } from './schedule-runner.js';
export { Scheduler } from './scheduler.js';
export type { SchedulerLogger, SchedulerOptions, SchedulerStatus } from './scheduler.js';
