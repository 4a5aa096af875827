// The entry of the agent's worker thread, which `baton agent`'s launcher (src/agent/launcher.ts)
// starts from the current release (`releases/<version>/dist/src/cli/agent-worker.js`) or from its
// own install: the BUNDLE_ENTRY of an agent release. It runs the agent with the launcher's
// `workerData` until the launcher's stop message, or until the agent staged a release. Ending:
// 0 after a stop or a restart; the CliError's code otherwise (5: the server closed the connection),
// 1 on any other error; an uncaught error ends the thread and the launcher restarts it.
import { writeSync } from 'node:fs';
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import type { AgentWorkerData, LauncherMessage, WorkerCommand } from '../agent/index.js';
import { classify } from './action.js';
import { runAgent } from './agent-run.js';
import { EXIT } from './exit-codes.js';

async function main(port: NonNullable<typeof parentPort>, d: AgentWorkerData): Promise<number> {
  try {
    await runAgent(d, {
      send: (m: LauncherMessage) => {
        port.postMessage(m);
        return Promise.resolve();
      },
      onStop: (stop) => port.on('message', (m: WorkerCommand) => m?.type === 'stop' && stop()),
      ...(d.updatedFrom ? { updatedFrom: d.updatedFrom } : {}),
    });
    return EXIT.ok;
  } catch (err) {
    const { message, code } = classify(err);
    // Straight to fd 2: the worker's process.stderr is relayed by the main thread, and this thread
    // ends right after.
    writeSync(2, `baton: ${message}\n`);
    return code;
  }
}

if (isMainThread || !parentPort) {
  process.stderr.write(
    'baton: agent-worker.js runs in the worker thread of `baton agent`; run `baton agent`\n',
  );
  process.exitCode = EXIT.usage;
} else {
  // process.exit in a worker ends the thread only, with this code (the launcher reads it); the
  // message listener would keep the thread alive otherwise.
  process.exit(await main(parentPort, workerData as AgentWorkerData));
}
