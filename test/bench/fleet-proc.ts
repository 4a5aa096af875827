// One child process of the fan-out benchmark's `--agent-procs K`: runs its share of the simulated
// fleet (startFleet, the same code as in one process) and talks to the parent over IPC: it gets
// its share, answers `started` with its figures, and stops its agents when told to.
import { startFleet, type Fleet, type FleetOptions } from './fleet.js';

export type FleetProcStart = { url: string; dir: string; opts: FleetOptions };
export type FleetProcReply =
  | { type: 'started'; startMs: number; heapPerAgentBytes: number; rssPerAgentBytes: number }
  | { type: 'stopped' }
  | { type: 'failed'; error: string };

const reply = (m: FleetProcReply) => process.send?.(m);

async function run(start: FleetProcStart): Promise<void> {
  const fleet: Fleet = await startFleet(start.url, start.dir, start.opts);
  reply({
    type: 'started',
    startMs: fleet.startMs,
    heapPerAgentBytes: fleet.heapPerAgentBytes,
    rssPerAgentBytes: fleet.rssPerAgentBytes,
  });
  await new Promise<void>((resolve) => process.once('message', () => resolve()));
  await fleet.stop();
  reply({ type: 'stopped' });
}

process.once('message', (start: FleetProcStart) => {
  run(start).then(
    () => process.disconnect(),
    (err: unknown) => {
      reply({ type: 'failed', error: String((err as Error)?.stack ?? err) });
      process.exitCode = 1;
      process.disconnect();
    },
  );
});
