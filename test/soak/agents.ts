// The soak's agents process: N real agents (real durable consumers, journals, outboxes, real script
// child processes) in one Node process, each with its own NATS connection, as `baton agent` would
// run on N machines. Started by main.ts; SIGTERM stops them gracefully.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Agent } from '../../src/agent/index.js';
import { silentLogger } from '../../src/shared/logger.js';

const { values } = parseArgs({
  options: {
    servers: { type: 'string' },
    count: { type: 'string' },
    dir: { type: 'string' },
  },
});
const servers = values.servers ?? '';
const count = Number(values.count);
const dir = values.dir ?? '';
if (!servers || !dir || !Number.isInteger(count) || count < 1) {
  process.stderr.write('usage: agents.js --servers <urls> --count <n> --dir <folder>\n');
  process.exit(2);
}

const agents: Agent[] = [];
// 20 at a time: each start creates a durable consumer; all at once would queue on the broker.
for (let i = 0; i < count; i += 20) {
  await Promise.all(
    Array.from({ length: Math.min(20, count - i) }, async (_, k) => {
      const pcId = `soak-${String(i + k).padStart(4, '0')}`;
      await mkdir(join(dir, pcId), { recursive: true });
      const agent = new Agent({
        pcId,
        servers,
        dataDir: join(dir, pcId),
        logger: silentLogger,
        stopGraceMs: 5_000,
      });
      agents.push(agent);
      await agent.start();
    }),
  );
}
process.stdout.write(`agents ready: ${agents.length}\n`);

const stop = async () => {
  await Promise.all(agents.map((a) => a.stop()));
  process.exit(0);
};
process.once('SIGTERM', () => void stop());
process.once('SIGINT', () => void stop());
