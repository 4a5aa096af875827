// `npm run bench [-- <name> [--n N]]`: runs the named benchmarks (default: all) and prints tables.
import { formatProjectorBench, runProjectorBench } from './projector.js';

const BENCHES: Record<string, (args: Map<string, string>) => Promise<string>> = {
  async projector(args) {
    const n = Number(args.get('--n') ?? 20_000);
    const rows = await runProjectorBench({ n, pcsPerExec: Number(args.get('--pcs') ?? 500) });
    return formatProjectorBench(rows, n);
  },
};

const argv = process.argv.slice(2);
const names = argv.filter((a, i) => !a.startsWith('--') && !argv[i - 1]?.startsWith('--'));
const flags = new Map<string, string>();
for (let i = 0; i < argv.length; i++) if (argv[i]!.startsWith('--')) flags.set(argv[i]!, argv[i + 1] ?? '');
const unknown = names.filter((n) => !(n in BENCHES));
if (unknown.length > 0) {
  console.error(`unknown benchmark ${unknown.join(', ')}; known: ${Object.keys(BENCHES).join(', ')}`);
  process.exit(2);
}
for (const name of names.length > 0 ? names : Object.keys(BENCHES)) {
  console.log(await BENCHES[name]!(flags));
}
