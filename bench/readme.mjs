// The README's benchmark tables, made from the committed results (bench/results/*.json) so they cannot drift.
//   node bench/readme.mjs          rewrite the marked blocks of the documents below (make bench runs it)
//   node bench/readme.mjs --check  exit 1 if a document differs from what the results say (make test runs it)
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const read = (f) => JSON.parse(readFileSync(join(root, 'bench', 'results', f), 'utf8'));
const ms = (v) => `${v} ms`;
const n = (v) => v.toLocaleString('en-US');
const minutes = (s) => (s >= 60 ? `${Math.floor(s / 60)} min ${s % 60} s` : `${s} s`);

export function lambdasBlock(l) {
  const date = l.measured.slice(0, 10);
  const rows = l.results.map(
    (r) =>
      `| ${r.function} | ${ms(r.initMs)} | ${ms(r.coldStartMs)} | ${r.warmMedianMs} / ${r.warmP95Ms} ms | ${r.warmExclEmrMs} ms | ${r.emrCallsPerInvocation} | ${r.peakRssMiB} MiB | ${r.zipMiB} MiB |`,
  );
  const over = l.results.filter((r) => r.zipMiB > 4).map((r) => r.function);
  const under = l.results.filter((r) => r.zipMiB <= 4).map((r) => r.function);
  const zip = over.length === 0 ? 'zip ≤ 4 MiB is met by every function' : `zip ≤ 4 MiB is met by ${under.join(', ') || 'none'}, **not** by ${over.join(', ')}`;
  const init = l.results.every((r) => r.initMs <= 20) ? 'met' : 'not met';
  const rss = l.results.every((r) => r.peakRssMiB <= 30) ? 'met' : 'not met';
  return [
    `Measured ${date} on ${l.machine}, ${l.how}.`,
    '',
    '| function | init (start → ready) | cold start (start → first answer) | warm, end to end (median / p95) | warm, excl. EMR calls | EMR calls | peak RSS | zip |',
    '|---|---|---|---|---|---|---|---|',
    ...rows,
    '',
    `Targets: init ≤ 20 ms (${init}), peak RSS ≤ 30 MiB (${rss}); ${zip}.`,
  ].join('\n');
}

export function statemachineBlock(s) {
  const cols = [
    ['events', 'events (ours, default)'],
    ['eventsAllLost', 'events, every event lost'],
    ['adaptive', 'adaptive polling (`"poll"`)'],
    ['fixed30s', 'fixed 30 s polling'],
  ];
  const row = (label, f) => `| ${label} | ${cols.map(([k]) => f(s.runs[k])).join(' | ')} |`;
  const scale = s.scale;
  const opRow = (op) => {
    const limit = op === 'all' ? scale.limits.allOperations : scale.limits.perOperation[op];
    const cell = (k) => {
      const o = scale.modes[k].operations[op];
      return o ? `${o.peak60sPerSecond}${o.withinRefill ? '' : ' ⚠'}` : '0';
    };
    return `| ${op === 'all' ? 'all EMR calls' : op} | ${cols.map(([k]) => cell(k)).join(' | ')} | ${limit.refillPerSecond}/s (burst ${limit.burst}) |`;
  };
  return [
    `| reference run | ${cols.map(([, h]) => h).join(' | ')} |`,
    `|---|${cols.map(() => '---').join('|')}|`,
    row('state transitions', (r) => n(r.stateTransitions)),
    row('Lambda invocations (event-router included)', (r) => n(r.lambdaInvocations.total)),
    row('EMR API calls', (r) => n(r.emrCalls.total)),
    row('history events', (r) => n(r.historyEvents)),
    row("detection latency (last step's end → run reported)", (r) => minutes(r.detectionLatencySeconds)),
    '',
    `${n(scale.runs)} such runs started over ${scale.startWindowSeconds / 60} minutes, each making its EMR calls when the measured run made them: the highest 60-second average of EMR calls per second in the account (⚠: over the refill rate, so throttled). Limits: ${scale.limits.source}.`,
    '',
    `| calls per second | ${cols.map(([, h]) => h).join(' | ')} | EMR's default limit |`,
    `|---|${cols.map(() => '---').join('|')}|---|`,
    opRow('DescribeCluster'),
    opRow('ListSteps'),
    opRow('all'),
  ].join('\n');
}

/** The generated blocks, by name; a document holds any of them between `<!-- bench:NAME -->` and `<!-- /bench:NAME -->`. */
function blocks() {
  return { lambdas: lambdasBlock(read('lambdas.json')), statemachine: statemachineBlock(read('statemachine.json')) };
}

export const DOCUMENTS = { 'README.md': ['lambdas', 'statemachine'], 'statemachine/README.md': ['statemachine'] };

export function render(text, names) {
  const all = blocks();
  let out = text;
  for (const name of names) {
    const body = all[name];
    const re = new RegExp(`(<!-- bench:${name} -->)[\\s\\S]*?(<!-- /bench:${name} -->)`);
    if (!re.test(out)) throw new Error(`no <!-- bench:${name} --> block`);
    out = out.replace(re, (_, open, close) => `${open}\n${body}\n${close}`);
  }
  return out;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  let stale = 0;
  for (const [file, names] of Object.entries(DOCUMENTS)) {
    const path = join(root, file);
    const current = readFileSync(path, 'utf8');
    const wanted = render(current, names);
    if (!process.argv.includes('--check')) {
      writeFileSync(path, wanted);
    } else if (current !== wanted) {
      console.error(`${file}: benchmark tables differ from bench/results/: run \`node bench/readme.mjs\``);
      stale += 1;
    }
  }
  if (stale) process.exit(1);
  if (process.argv.includes('--check')) console.log('benchmark tables match bench/results/');
}
