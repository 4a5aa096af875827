// What every benchmark returns, how it prints (a table per benchmark, each baton figure next to the
// raw ceiling measured in the same run and their ratio), and docs/benchmarks.md with its chart
// (docs/benchmarks.svg, drawn here from the numbers: no external service).
import { execFileSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';

/**
 * One figure. `kind` says how baton and raw compare: `time` (lower is better; ratio = baton/raw,
 * "1.8x"), `rate` (higher is better; ratio = baton/raw, "62%"), or `absolute` (no raw ceiling).
 */
export type Figure = {
  label: string;
  kind: 'time' | 'rate' | 'absolute';
  baton: number;
  raw: number | null;
  unit: string;
  /** The target as text ("<= 2x raw"), and whether this run met it (null: no target). */
  target: string | null;
  met: boolean | null;
};

export type BenchReport = {
  name: string;
  title: string;
  /** How it was measured: printed under the table and in the docs. */
  notes: string[];
  figures: Figure[];
};

export function ratioOf(f: Figure): number | null {
  if (f.raw === null || f.raw === 0) return null;
  return f.baton / f.raw;
}

export function formatRatio(f: Figure): string {
  const r = ratioOf(f);
  if (r === null) return '';
  return f.kind === 'rate' ? `${(r * 100).toFixed(0)}%` : `${r.toFixed(2)}x`;
}

/** A time figure: met when baton <= max x raw. */
export function timeFigure(
  label: string,
  baton: number,
  raw: number,
  unit: string,
  max: number | null,
): Figure {
  return {
    label,
    kind: 'time',
    baton,
    raw,
    unit,
    target: max === null ? null : `<= ${max}x raw`,
    met: max === null ? null : baton <= max * raw,
  };
}

/** A rate figure: met when baton >= min x raw. */
export function rateFigure(
  label: string,
  baton: number,
  raw: number,
  unit: string,
  min: number | null,
): Figure {
  return {
    label,
    kind: 'rate',
    baton,
    raw,
    unit,
    target: min === null ? null : `>= ${(min * 100).toFixed(0)}% of raw`,
    met: min === null ? null : baton >= min * raw,
  };
}

export function absoluteFigure(
  label: string,
  value: number,
  unit: string,
  target?: { text: string; met: boolean },
): Figure {
  return {
    label,
    kind: 'absolute',
    baton: value,
    raw: null,
    unit,
    target: target?.text ?? null,
    met: target?.met ?? null,
  };
}

export function fmt(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  const a = Math.abs(n);
  if (a >= 100) return n.toFixed(0);
  if (a >= 10) return n.toFixed(1);
  return n.toFixed(2);
}

function pad(cells: string[][]): string[] {
  const widths = cells[0]!.map((_, i) => Math.max(...cells.map((r) => r[i]!.length)));
  return cells.map((r) =>
    r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  '),
  );
}

const metText = (f: Figure) => (f.met === null ? '' : f.met ? 'met' : 'NOT met');

export function formatReport(r: BenchReport): string {
  const rows = [
    ['measure', 'baton', 'raw ceiling', 'unit', 'ratio', 'target', ''],
    ...r.figures.map((f) => [
      f.label,
      fmt(f.baton),
      f.raw === null ? '' : fmt(f.raw),
      f.unit,
      formatRatio(f),
      f.target ?? '',
      metText(f),
    ]),
  ];
  return [`== ${r.title}`, ...pad(rows), ...r.notes.map((n) => `  * ${n}`), ''].join('\n');
}

function markdownTable(r: BenchReport): string {
  const head =
    '| measure | baton | raw ceiling | unit | ratio | target | |\n|---|---:|---:|---|---:|---|---|';
  const body = r.figures.map(
    (f) =>
      `| ${f.label} | ${fmt(f.baton)} | ${f.raw === null ? '' : fmt(f.raw)} | ${f.unit} | ${formatRatio(f)} | ${f.target ?? ''} | ${metText(f)} |`,
  );
  return [head, ...body].join('\n');
}

export type Environment = {
  date: string;
  machine: string;
  node: string;
  natsServer: string;
  command: string;
};

export function environment(natsServerBinary: string | null, command: string): Environment {
  let nats = 'unknown';
  if (natsServerBinary) {
    try {
      nats = execFileSync(natsServerBinary, ['--version'], { encoding: 'utf8' }).trim();
    } catch {
      nats = `unknown (${natsServerBinary})`;
    }
  }
  const cpu = cpus();
  return {
    date: new Date().toISOString(),
    machine: `${cpu.length} x ${cpu[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB RAM, ${process.platform} ${process.arch}`,
    node: process.version,
    natsServer: nats,
    command,
  };
}

/** A horizontal bar per compared figure: baton as a share of the raw ceiling's speed. */
export function chartSvg(reports: BenchReport[]): string {
  const figures = reports.flatMap((r) => r.figures.filter((f) => ratioOf(f) !== null).map((f) => ({ r, f })));
  const rowH = 26;
  const left = 330;
  const width = 860;
  const barW = width - left - 90;
  const top = 40;
  const height = top + figures.length * rowH + 40;
  // Speed relative to raw: for times raw/baton, for rates baton/raw. 100% = as fast as raw.
  const speed = (f: Figure) => (f.kind === 'time' ? 1 / ratioOf(f)! : ratioOf(f)!);
  const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="10" y="20" font-size="14" font-weight="bold">baton vs the raw NATS/SQLite ceiling (100% = as fast as raw)</text>`,
  ];
  figures.forEach(({ r, f }, i) => {
    const y = top + i * rowH;
    const s = Math.min(speed(f), 1.5);
    const colour = f.met === false ? '#d9534f' : '#4a90d9';
    parts.push(
      `<text x="${left - 8}" y="${y + 15}" text-anchor="end">${esc(`${r.name}: ${f.label}`.slice(0, 52))}</text>`,
      `<rect x="${left}" y="${y + 3}" width="${(barW * s) / 1.5}" height="16" fill="${colour}"/>`,
      `<text x="${left + (barW * s) / 1.5 + 4}" y="${y + 15}">${(speed(f) * 100).toFixed(0)}%</text>`,
    );
  });
  const x100 = left + barW / 1.5;
  parts.push(
    `<line x1="${x100}" y1="${top - 4}" x2="${x100}" y2="${height - 30}" stroke="#333" stroke-dasharray="4 3"/>`,
    `<text x="${x100}" y="${height - 14}" text-anchor="middle">raw = 100%</text>`,
    `<text x="10" y="${height - 14}" fill="#d9534f">red: target missed</text>`,
    '</svg>',
  );
  return parts.join('\n');
}

export function benchmarksMarkdown(env: Environment, reports: BenchReport[], extra: string): string {
  const sections = reports.map(
    (r) => `### ${r.title}\n\n${markdownTable(r)}\n\n${r.notes.map((n) => `- ${n}`).join('\n')}\n`,
  );
  return `# Benchmarks

Generated by \`${env.command}\` (test/bench/). Every baton figure is printed next to the raw
ceiling measured **in the same run** on the same machine and server, and their ratio. For times
the ratio is baton / raw (lower is better); for rates it is baton's share of raw (higher is
better). Re-run it to refresh this page; numbers from another machine are not comparable.

- date: ${env.date}
- machine: ${env.machine}
- Node.js: ${env.node}
- nats-server: ${env.natsServer}
- everything on loopback, one nats-server (JetStream, file store)

![baton vs raw](benchmarks.svg)

## Results

${sections.join('\n')}
${extra}`;
}

export async function writeDocs(
  dir: string,
  env: Environment,
  reports: BenchReport[],
  extra: string,
): Promise<void> {
  await writeFile(`${dir}/benchmarks.md`, benchmarksMarkdown(env, reports, extra));
  await writeFile(`${dir}/benchmarks.svg`, chartSvg(reports));
  await writeFile(`${dir}/benchmarks.json`, `${JSON.stringify({ env, reports }, null, 2)}\n`);
}
