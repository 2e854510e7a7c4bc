// The README's benchmark tables, made from the committed results (bench/results/*.json) so they cannot drift.
//   node bench/readme.mjs          rewrite the marked blocks of the documents below (make bench runs it)
//   node bench/readme.mjs --check  exit 1 if a document differs from what the results say (make test runs it)
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
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
  const lean = l.results.filter((r) => r.zipMiB > 2.5).map((r) => r.function);
  const moonshot = lean.length === 0 ? 'met by every function' : `not met by ${lean.join(', ')}`;
  return [
    `Measured ${date} on ${l.machine}, ${l.how}.`,
    '',
    '| function | init (start → ready) | cold start (start → first answer) | warm, end to end (median / p95) | warm, excl. EMR calls | EMR calls | peak RSS | zip |',
    '|---|---|---|---|---|---|---|---|',
    ...rows,
    '',
    `Targets: init ≤ 20 ms (${init}), peak RSS ≤ 30 MiB (${rss}); ${zip}; zip ≤ 2.5 MiB ${moonshot}.`,
    ...(l.python ? ['', pythonBlock(l)] : []),
    ...(existsSync(join(root, 'bench', 'results', 'lambdas-baseline.json')) ? ['', beforeAfterBlock(read('lambdas-baseline.json'), l)] : []),
  ].join('\n');
}

/** The functions before the lean-artifacts work (an earlier commit's build, same harness) beside these results. */
export function beforeAfterBlock(before, after) {
  const rows = after.results.map((a) => {
    const b = before.results.find((r) => r.function === a.function);
    const pair = (x, y, unit) => `${x} → ${y} ${unit}`;
    return `| ${a.function} | ${pair(b.zipMiB, a.zipMiB, 'MiB')} | ${pair(b.initMs, a.initMs, 'ms')} | ${pair(b.coldStartMs, a.coldStartMs, 'ms')} | ${pair(b.warmMedianMs, a.warmMedianMs, 'ms')} | ${pair(b.peakRssMiB, a.peakRssMiB, 'MiB')} |`;
  });
  return [
    `**Before → after** the size work: ${before.label}, measured ${before.measured.slice(0, 10)} by the same harness on the same machine.`,
    '',
    '| function | zip | init | cold start | warm median | peak RSS |',
    '|---|---|---|---|---|---|',
    ...rows,
  ].join('\n');
}

/** Our check-status beside the same job as a Python Lambda with boto3, measured in the same run. */
export function pythonBlock(l) {
  const p = l.python;
  const ours = l.results.find((r) => r.function === 'check-status');
  const x = (v) => `${v}×`;
  const ops = (r) => Object.entries(r.emrCallsByOperation ?? {}).map(([op, n]) => `${n} ${op}`).join(', ');
  return [
    `**Beside the usual alternative**: the same check-status job as a Python ${p.python} Lambda with boto3 ${p.boto3} ([bench/python/](bench/python/handler.py)), run by awslambdaric ${p.awslambdaric} (the runtime interface client of the managed Python runtimes) under the same Runtime API, against the same emulator, with the same event, in the same run; both answer the same (checked).`,
    '',
    '| check-status | init | cold start | warm, end to end (median / p95) | EMR calls | peak RSS | package |',
    '|---|---|---|---|---|---|---|',
    `| ours (Rust) | ${ms(ours.initMs)} | ${ms(ours.coldStartMs)} | ${ours.warmMedianMs} / ${ours.warmP95Ms} ms | ${ours.emrCallsPerInvocation} (${ops(ours)}) | ${ours.peakRssMiB} MiB | ${ours.zipMiB} MiB |`,
    `| Python + boto3 | ${ms(p.initMs)} | ${ms(p.coldStartMs)} | ${p.warmMedianMs} / ${p.warmP95Ms} ms | ${p.emrCallsPerInvocation} (${ops(p)}) | ${p.peakRssMiB} MiB | ${p.zipMiB} MiB¹ |`,
    `| **Python / ours** | **${x(p.ratios.init)}** | **${x(p.ratios.coldStart)}** | **${x(p.ratios.warmMedian)}** | | **${x(p.ratios.peakRss)}** | **${x(p.ratios.zip)}** |`,
    '',
    `¹ ${p.zipNote}; the handler alone is ${p.handlerOnlyKiB} KiB, with the runtime's own boto3.`,
  ].join('\n');
}

/** infra/README.md's cost of one run-transient, from the reference run and the Lambdas' measured times. */
export function costBlock(s, l) {
  const e = s.runs.events;
  const a = s.runs.adaptive;
  const f = s.runs.fixed30s;
  const PRICE = { transition: 0.025 / 1000, request: 0.2 / 1e6, gbSecond: 0.0000133334, logGb: 0.5, wcu: 1.25 / 1e6, rcu: 0.25 / 1e6 };
  const BILLED_SECONDS = 0.1; // a generous 100 ms per call, billed at 128 MB
  const money = (v) => `$${v < 0.0001 ? v.toPrecision(1) : v.toPrecision(2)}`.replace(/(\.\d*?)0+$/, '$1');
  const warm = l.results.map((r) => r.warmMedianMs);
  const lock = { writes: 3, reads: 2 };
  // Waiting for events: each wait writes its token and reads the cluster's note; each event delivered writes the note
  // and queries the waits; the answered wait is deleted.
  const waits = { writes: e.callbackWaits + e.eventDeliveries + 1, reads: e.callbackWaits + e.eventDeliveries };
  const cost = (r, d) => {
    const sfn = r.stateTransitions * PRICE.transition;
    const lambda = r.lambdaInvocations.total * (PRICE.request + BILLED_SECONDS * 0.125 * PRICE.gbSecond);
    const dynamo = (lock.writes + d.writes) * PRICE.wcu + (lock.reads + d.reads) * PRICE.rcu;
    const logs = 0.3e-3 * PRICE.logGb;
    return { sfn, lambda, dynamo, logs, total: sfn + lambda + dynamo + logs };
  };
  const ce = cost(e, waits);
  const ca = cost(a, { writes: 0, reads: 0 });
  return [
    `Measured by \`make bench\` for the reference run (8-minute start, 3 steps totalling 2 hours), waiting for EMR's events (the default) and polling (\`"poll"\`); a fixed 30 s loop would take ${n(f.stateTransitions)} transitions.`,
    '',
    "| part | waiting for events (default) | polling | price | events / polling |",
    '|---|---|---|---|---|',
    `| Step Functions | ${n(e.stateTransitions)} state transitions | ${n(a.stateTransitions)} state transitions (${a.polls} polls) | $0.025 per 1,000 transitions | ${money(ce.sfn)} / ${money(ca.sfn)} |`,
    `| Lambda | ${n(e.lambdaInvocations.total)} invocations (${e.eventDeliveries} of them event-router's) | ${n(a.lambdaInvocations.total)} invocations | $0.20 per million requests + $0.0000133334 per GB-second; each call a few ms of the function's own time plus EMR's answer (\`make bench\`: ${Math.min(...warm)}–${Math.max(...warm)} ms end to end locally), call it 100 ms at 128 MB arm64 | ${money(ce.lambda)} / ${money(ca.lambda)} |`,
    `| DynamoDB (with a lock) | the lock's ${lock.writes} writes and ${lock.reads} reads, and the waits' ${waits.writes} writes and ${waits.reads} reads | the lock's | $1.25 per million write and $0.25 per million read request units | ${money(ce.dynamo)} / ${money(ca.dynamo)} |`,
    "| CloudWatch Logs | about 0.3 MB with `StateMachineLogLevel=ALL` and execution data (nothing for a successful run at the default `ERROR`) | the same | $0.50 per GB ingested | ${money(ce.logs)} / ${money(ca.logs)} |".replace('${money(ce.logs)} / ${money(ca.logs)}', `${money(ce.logs)} / ${money(ca.logs)}`),
    `| **orchestration total** | | | | **about ${money(ce.total)} / ${money(ca.total)}** |`,
    '| EMR cluster, for comparison | e.g. 3 × m5.xlarge for 2 hours | | EC2 $0.192 + EMR $0.048 per instance-hour | $1.44 |',
  ].join('\n');
}

/** How many hostile execution inputs tests/hostile/ holds (each a directory with a case.json). */
export function hostileCount() {
  const dir = join(root, 'tests', 'hostile');
  return String(readdirSync(dir).filter((d) => existsSync(join(dir, d, 'case.json'))).length);
}

export function statemachineBlock(s) {
  const cols = [
    ['events', 'events (ours, default)'],
    ['eventsAllLost', 'events, every event lost'],
    ['eventsAllLostReconciled', `every event lost, the reconciler every ${s.sweepPeriodSeconds / 60} min`],
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
    row('… and event-router after the run (its cluster ending)', (r) => n(r.eventRouterAfterEnd)),
    row('EMR API calls', (r) => n(r.emrCalls.total)),
    row("… and the reconciler's sweeps meanwhile (their EMR and tagging calls)", (r) => `${n(r.sweeps.count)} (${n(r.sweeps.emrCalls)})`),
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

/**
 * The generated blocks, by name; a document holds any of them between `<!-- bench:NAME -->` and
 * `<!-- /bench:NAME -->`, on lines of their own, or inline (a figure in a sentence) for the names in INLINE.
 */
function blocks() {
  const l = read('lambdas.json');
  const s = read('statemachine.json');
  return { lambdas: lambdasBlock(l), statemachine: statemachineBlock(s), cost: costBlock(s, l), hostile: hostileCount() };
}

const INLINE = new Set(['hostile']);

export const DOCUMENTS = {
  'README.md': ['lambdas', 'statemachine', 'hostile'],
  'statemachine/README.md': ['statemachine'],
  'infra/README.md': ['cost'],
};

export function render(text, names) {
  const all = blocks();
  let out = text;
  for (const name of names) {
    const body = all[name];
    const re = new RegExp(`(<!-- bench:${name} -->)[\\s\\S]*?(<!-- /bench:${name} -->)`);
    if (!re.test(out)) throw new Error(`no <!-- bench:${name} --> block`);
    out = out.replace(re, (_, open, close) => (INLINE.has(name) ? `${open}${body}${close}` : `${open}\n${body}\n${close}`));
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
