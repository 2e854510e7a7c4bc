// The READMEs' measured figures, made from the committed results (bench/results/*.json) and test inputs so they
// cannot drift; and infra/README.md's picture of the dashboard, drawn from the template.
//   node bench/readme.mjs          rewrite the marked blocks of the documents below (make bench runs it)
//   node bench/readme.mjs --check  exit 1 if a document differs from what the results say, if the results leave out a
//                                  function of the Makefile's FUNCTIONS, or if a README states a figure outside the
//                                  generated blocks that is not a listed constant (make test runs it: docs-check)
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const read = (f) => JSON.parse(readFileSync(join(root, 'bench', 'results', f), 'utf8'));
const ms = (v) => `${v} ms`;
const n = (v) => v.toLocaleString('en-US');
const percent = (part, whole) => `${Math.round((100 * part) / whole)} %`;
const minutes = (s) => (s >= 60 ? `${Math.floor(s / 60)} min ${s % 60} s` : `${s} s`);

/** The Lambda functions, in the Makefile's order (`FUNCTIONS :=`): what `make package` builds and the bench measures. */
export function makefileFunctions() {
  const m = /^FUNCTIONS :=(.*)$/m.exec(readFileSync(join(root, 'Makefile'), 'utf8'));
  if (!m) throw new Error('Makefile: no FUNCTIONS := line');
  return m[1].trim().split(/\s+/);
}

const SERVICES = ['EMR', 'tagging', 'DynamoDB', 'Step Functions'];
/** A function's calls per invocation by service: "2 EMR", "1 EMR, 3 DynamoDB, 1 Step Functions". */
const callsOf = (r) =>
  SERVICES.filter((s) => r.callsByService?.[s])
    .map((s) => `${r.callsByService[s]} ${s}`)
    .join(', ') || '0';

export function lambdasBlock(l) {
  const date = l.measured.slice(0, 10);
  const rows = l.results.map(
    (r) =>
      `| ${r.function} | ${ms(r.initMs)} | ${ms(r.coldStartMs)} | ${r.warmMedianMs} / ${r.warmP95Ms} ms | ${r.warmExclCallsMs} ms | ${callsOf(r)} | ${r.peakRssMiB} MiB | ${r.zipMiB} MiB |`,
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
    '| function | init (start → ready) | cold start (start → first answer) | warm, end to end (median / p95) | warm, excl. calls | calls per invocation | peak RSS | zip |',
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
  const both = after.results.filter((a) => before.results.some((r) => r.function === a.function));
  const rows = both.map((a) => {
    const b = before.results.find((r) => r.function === a.function);
    const pair = (x, y, unit) => `${x} → ${y} ${unit}`;
    return `| ${a.function} | ${pair(b.zipMiB, a.zipMiB, 'MiB')} | ${pair(b.initMs, a.initMs, 'ms')} | ${pair(b.coldStartMs, a.coldStartMs, 'ms')} | ${pair(b.warmMedianMs, a.warmMedianMs, 'ms')} | ${pair(b.peakRssMiB, a.peakRssMiB, 'MiB')} |`;
  });
  return [
    `**Before → after** the size work: ${before.label}, measured ${before.measured.slice(0, 10)} by the bench of then on the same machine (the functions it measured).`,
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
  const ops = (r) => Object.entries(r.callsByOperation ?? {}).map(([op, k]) => `${k} ${op}`).join(', ');
  return [
    `**Beside the usual alternative**: the same check-status job as a Python ${p.python} Lambda with boto3 ${p.boto3} ([bench/python/](bench/python/handler.py)), run by awslambdaric ${p.awslambdaric} (the runtime interface client of the managed Python runtimes) under the same Runtime API, against the same emulator, with the same event, in the same run; both answer the same (checked).`,
    '',
    '| check-status | init | cold start | warm, end to end (median / p95) | calls | peak RSS | package |',
    '|---|---|---|---|---|---|---|',
    `| ours (Rust) | ${ms(ours.initMs)} | ${ms(ours.coldStartMs)} | ${ours.warmMedianMs} / ${ours.warmP95Ms} ms | ${ours.callsPerInvocation} (${ops(ours)}) | ${ours.peakRssMiB} MiB | ${ours.zipMiB} MiB |`,
    `| Python + boto3 | ${ms(p.initMs)} | ${ms(p.coldStartMs)} | ${p.warmMedianMs} / ${p.warmP95Ms} ms | ${p.callsPerInvocation} (${ops(p)}) | ${p.peakRssMiB} MiB | ${p.zipMiB} MiB¹ |`,
    `| **Python / ours** | **${x(p.ratios.init)}** | **${x(p.ratios.coldStart)}** | **${x(p.ratios.warmMedian)}** | | **${x(p.ratios.peakRss)}** | **${x(p.ratios.zip)}** |`,
    '',
    `¹ ${p.zipNote}; the handler alone is ${p.handlerOnlyKiB} KiB, with the runtime's own boto3.`,
  ].join('\n');
}

/** What each deployed artifact is made of: the zip, and the bootstrap inside it by ELF section. */
export function bytesBlock(l) {
  const rows = l.results.map((r) => {
    const b = r.bootstrap;
    return `| ${r.function} | ${r.zipMiB} MiB | ${b.binaryMiB} MiB | ${b.textMiB} MiB | ${b.rodataMiB} MiB | ${b.unwindMiB} MiB | ${b.otherMiB} MiB |`;
  });
  return [
    '| function | zip | bootstrap | code (`.text`) | read-only data (`.rodata`) | unwinding tables | the rest |',
    '|---|---|---|---|---|---|---|',
    ...rows,
  ].join('\n');
}

const PRICE = { transition: 0.025 / 1000, request: 0.2 / 1e6, gbSecond: 0.0000133334, logGb: 0.5, wcu: 1.25 / 1e6, rcu: 0.25 / 1e6, alarm: 0.1 };
const money = (v) => `$${v < 0.0001 ? v.toPrecision(1) : v.toPrecision(2)}`.replace(/(\.\d*?)0+$/, '$1');

/** infra/README.md's cost of one run-transient, from the reference run and the Lambdas' measured times. */
export function costBlock(s, l) {
  const e = s.runs.events;
  const a = s.runs.adaptive;
  const f = s.runs.fixed30s;
  const BILLED_SECONDS = 0.1; // a generous 100 ms per call, billed at 128 MB
  // The functions a locked run invokes: the reference runs' and the lock's.
  const invoked = new Set(['lock', ...[e, a].flatMap((r) => Object.keys(r.lambdaInvocations))]);
  const warm = l.results.filter((r) => invoked.has(r.function)).map((r) => r.warmMedianMs);
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
    `| Lambda | ${n(e.lambdaInvocations.total)} invocations (${e.eventDeliveries} of them event-router's) | ${n(a.lambdaInvocations.total)} invocations | $0.20 per million requests + $0.0000133334 per GB-second; each call a few ms of the function's own time plus its calls' answers (\`make bench\`: ${Math.min(...warm)}–${Math.max(...warm)} ms end to end locally for ${[...invoked].filter((fn) => fn !== 'total').join(', ')}), call it 100 ms at 128 MB arm64 | ${money(ce.lambda)} / ${money(ca.lambda)} |`,
    `| DynamoDB (with a lock) | the lock's ${lock.writes} writes and ${lock.reads} reads, and the waits' ${waits.writes} writes and ${waits.reads} reads | the lock's | $1.25 per million write and $0.25 per million read request units | ${money(ce.dynamo)} / ${money(ca.dynamo)} |`,
    `| CloudWatch Logs | about 0.3 MB with \`StateMachineLogLevel=ALL\` and execution data (nothing for a successful run at the default \`ERROR\`) | the same | $0.50 per GB ingested | ${money(ce.logs)} / ${money(ca.logs)} |`,
    `| **orchestration total** | | | | **about ${money(ce.total)} / ${money(ca.total)}** |`,
    '| EMR cluster, for comparison | e.g. 3 × m5.xlarge for 2 hours | | EC2 $0.192 + EMR $0.048 per instance-hour | $1.44 |',
  ].join('\n');
}

/** The template's default of a Number parameter (e.g. ReconcileMinutes). */
function templateDefault(parameter) {
  const template = readFileSync(join(root, 'infra', 'template.yaml'), 'utf8');
  const m = new RegExp(`^  ${parameter}:\\n    Type: Number\\n    Default: (\\d+)`, 'm').exec(template);
  if (!m) throw new Error(`infra/template.yaml: no Number parameter ${parameter} with a Default`);
  return Number(m[1]);
}

/** infra/README.md's monthly cost of the reconciler, from the template's schedule and the bench's sweep. */
export function reconcilerCostBlock(l) {
  const r = l.results.find((x) => x.function === 'reconciler');
  const minutes = templateDefault('ReconcileMinutes');
  const BILLED_SECONDS = 0.2; // a generous 200 ms per sweep, billed at 128 MB
  const LOG_BYTES = 1000; // its line and Lambda's own (START, END, REPORT), per sweep
  const op = (name) => r.callsByOperation[name] ?? 0;
  const scans = op('DynamoDB Scan');
  const month = (every) => {
    const sweeps = (30 * 24 * 60) / every;
    const requests = sweeps * PRICE.request;
    const compute = sweeps * BILLED_SECONDS * 0.125 * PRICE.gbSecond;
    const reads = sweeps * scans; // a strongly consistent Scan of a few KB: one read request unit
    const logs = (sweeps * LOG_BYTES) / 1e9;
    const alarms = 2 * PRICE.alarm;
    return { sweeps, requests, compute, reads, logs, total: requests + compute + reads * PRICE.rcu + logs * PRICE.logGb + alarms };
  };
  const m = month(minutes);
  const listings = op('EMR ListClusters') + op('tagging GetResources');
  return [
    `**The reconciler, per month at the default ${minutes} minutes** (${n(m.sweeps)} sweeps). \`make bench\` measured a sweep of a quiet stack in two regions: ${r.callsPerInvocation} calls (${Object.entries(r.callsByOperation).map(([k, v]) => `${v} ${k}`).join(', ')}), ${ms(r.warmMedianMs)} end to end locally.`,
    `Lambda requests ${money(m.requests)} and, calling a sweep 200 ms at 128 MB, ${money(m.compute)} of compute; its ${scans} strongly consistent Scans a sweep (the wait and lock tables, a few KB each),`,
    `${n(m.reads)} read request units, ${money(m.reads * PRICE.rcu)}; its log line and Lambda's own, about 1 KB a sweep, ${money(m.logs * PRICE.logGb)}; EMR's, the tagging`,
    "API's and Step Functions' read calls are not billed; its metrics are written only in a sweep that repairs something",
    `or finds a lock held, so a quiet month has none. With its two alarms ($0.20, counted in the fixed costs below) that is **about ${money(m.total)} a month**; every`,
    `minute instead of every ${minutes}, about ${money(month(1).total)}. A sweep makes one ListClusters and one GetResources per region and page (${listings} calls`,
    'in the two regions of the measured sweep), whatever the number of clusters; EMR\'s ListClusters rate (refill about 1',
    'call a second) is not troubled by one call a region every few minutes.',
  ].join('\n');
}

/** How many hostile execution inputs tests/hostile/ holds (each a directory with a case.json). */
export function hostileCount() {
  const dir = join(root, 'tests', 'hostile');
  return String(readdirSync(dir).filter((d) => existsSync(join(dir, d, 'case.json'))).length);
}

/** How many cases the template engine's Go differential corpus holds. */
export function gotemplateCases() {
  return n(JSON.parse(readFileSync(join(root, 'tests', 'gotemplate', 'corpus.json'), 'utf8')).cases.length);
}

/** How many real-world configs tests/reference/real/ holds. */
export function realConfigs() {
  return String(readdirSync(join(root, 'tests', 'reference', 'real')).filter((f) => f.endsWith('.json')).length);
}

const STATEMACHINE_COLUMNS = (s) => [
  ['events', 'events (ours, default)'],
  ['eventsAllLost', 'events, every event lost'],
  ['eventsAllLostReconciled', `every event lost, the reconciler every ${s.sweepPeriodSeconds / 60} min`],
  ['adaptive', 'adaptive polling (`"poll"`)'],
  ['fixed30s', 'fixed 30 s polling'],
];

export function statemachineBlock(s) {
  const cols = STATEMACHINE_COLUMNS(s);
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
    row('… of which read its cost at its end', (r) => n(r.emrCalls.costReads)),
    row("… and the reconciler's sweeps meanwhile (their EMR and tagging calls)", (r) => `${n(r.sweeps.count)} (${n(r.sweeps.emrCalls)})`),
    row('history events', (r) => n(r.historyEvents)),
    row("detection latency (the cluster's end → run reported)", (r) => minutes(r.detectionLatencySeconds)),
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
 * The reference playbook on both targets, side by side (the same bench run): each waiting for its service's events
 * and polling; with every event lost in the prose.
 */
export function targetsBlock(s) {
  const { events: e, adaptive: a } = s.runs;
  const { events: ve, polling: vp, eventsAllLost: vl } = s.serverless;
  const row = (label, emr, sls) => `| ${label} | ${emr(e)} | ${emr(a)} | ${sls(ve)} | ${sls(vp)} |`;
  const byOperation = (v) =>
    Object.entries(v.apiCalls.byOperation)
      .filter(([op]) => op !== 'GetProducts')
      .map(([op, c]) => `${op} ${n(c)}`)
      .join(', ');
  return [
    '| reference playbook | EMR, events | EMR, polling | EMR Serverless, events | EMR Serverless, polling |',
    '|---|---|---|---|---|',
    row('state transitions', (r) => n(r.stateTransitions), (r) => n(r.stateTransitions)),
    row('Lambda invocations', (r) => n(r.lambdaInvocations.total), (r) => n(r.lambdaInvocations.total)),
    row('API calls (EMR, or EMR Serverless)', (r) => n(r.emrCalls.total), (r) => n(r.apiCalls.total)),
    row('history events', (r) => n(r.historyEvents), (r) => n(r.historyEvents)),
    row("detection latency (the last step's end → run reported)", (r) => minutes(r.detectionLatencySeconds), (r) => minutes(r.detectionLatencySeconds)),
    '',
    `EMR Serverless's calls, by operation: waiting for events ${byOperation(ve)}; polling ${byOperation(vp)} (and ` +
      `${n(vp.apiCalls.byOperation.GetProducts ?? 0)} Price List reads, to price the job runs); their billed cost in the emulator: $${vp.costUsd}. ` +
      `With every EMR Serverless event lost, the run still succeeded through its backstops: ${n(vl.stateTransitions)} transitions, ` +
      `${n(vl.apiCalls.total)} calls, found ${minutes(vl.detectionLatencySeconds)} after the last job run ended. ` +
      `On EMR Serverless the detection latency ends at the check or answer that found the last job run ended; the application's cleanup follows.`,
  ].join('\n');
}

/** The reference run's outcome in a sentence (after "Waiting for events, "): events against polling. */
export function statemachineSummary(s) {
  const { events: e, eventsAllLost: lost, adaptive, fixed30s } = s.runs;
  return (
    `the run is found over when EMR announces it (${minutes(e.detectionLatencySeconds)} after its cluster ended in the emulator; EventBridge ` +
    `delivers within seconds), for ${n(e.stateTransitions)} transitions and ${n(e.emrCalls.total)} EMR calls; with every event lost it is found by its backstop, for ` +
    `${n(lost.stateTransitions)} transitions and ${n(lost.emrCalls.total)} EMR calls. Polling pays ${Math.floor(fixed30s.stateTransitions / adaptive.stateTransitions)}× fewer transitions than a 30 s loop`
  );
}

/** statemachine/README.md's measured 14-day runs (the history budget). */
export function fortnightBlock(s) {
  const f = s.fortnight;
  const p = f.polling;
  const formula = p.historyEvents === 9 * p.checks + 19 ? ` (= 9 × ${n(p.checks)} + 19)` : '';
  return (
    `Measured by \`make bench\` on the emulator through the real definitions (the runs \`test/history-budget.test.mjs\` checks, ` +
    `\`bench/results/statemachine.json\`): polling, ${n(p.checks)} checks, ${n(p.stateTransitions)} state transitions, **${n(p.historyEvents)} history events**${formula} ` +
    `for run-transient, ${percent(p.historyEvents, f.historyLimit)} of the ${n(f.historyLimit)} limit; ${n(f.runPolling.historyEvents)} for \`run\` waiting 14 days on a long-running cluster. ` +
    `Waiting for events, a 14-day run with every event lost made ${n(f.eventsAllLost.checks)} backstop checks and ${n(f.eventsAllLost.historyEvents)} history events.`
  );
}

/** README.md's one-line summary of the 14-day run. */
export function fortnightSummary(s) {
  const f = s.fortnight;
  return `${n(f.polling.historyEvents)} history events polling (${percent(f.polling.historyEvents, f.historyLimit)} of the ${n(f.historyLimit)} limit)`;
}

/** How long the harness took to simulate the 14-day polling run. */
export function fortnightReal(s) {
  return `${Math.round(s.fortnight.polling.realSeconds)} s`;
}

/** The stack's dashboard as the template declares it: the body of `Dashboard`'s `DashboardBody: !Sub |`. */
export function dashboardBody(template = readFileSync(join(root, 'infra', 'template.yaml'), 'utf8')) {
  const lines = template.split('\n');
  const start = lines.findIndex((l) => l.trim() === 'DashboardBody: !Sub |');
  if (start < 0) throw new Error('infra/template.yaml: no DashboardBody: !Sub |');
  const body = [];
  for (const l of lines.slice(start + 1)) {
    if (!l.startsWith('        ')) break;
    body.push(l);
  }
  return JSON.parse(body.join('\n'));
}

/** What a widget is called on the picture: its title, or a text widget's first line; the stack's name as <stack>. */
function widgetTitle(w) {
  const title = w.properties.title ?? w.properties.markdown?.split('\n')[0].replace(/^#+\s*/, '') ?? w.type;
  return title.replaceAll('${AWS::StackName}', '<stack>');
}

/** `text` cut into lines of at most `width` characters, at spaces where it can be. */
function wrap(text, width) {
  const out = [];
  let line = '';
  for (let word of text.split(/\s+/)) {
    while (word.length > width) {
      if (line) out.push(line);
      out.push(word.slice(0, width));
      word = word.slice(width);
      line = '';
    }
    if (!line) line = word;
    else if (line.length + 1 + word.length <= width) line += ` ${word}`;
    else {
      out.push(line);
      line = word;
    }
  }
  if (line) out.push(line);
  return out;
}

/**
 * The dashboard's layout as text: each widget's title in a box at its place on CloudWatch's 24-column grid, a column
 * `cell` characters wide and a grid row one line high. A widget outside the grid, or on another, is an error.
 */
export function dashboardPicture(body, cell = 4) {
  const widgets = body.widgets;
  const rows = Math.max(...widgets.map((w) => w.y + w.height));
  const taken = new Map();
  for (const w of widgets) {
    if (w.x < 0 || w.width < 1 || w.x + w.width > 24) throw new Error(`dashboard: "${widgetTitle(w)}" is outside the 24 columns`);
    for (let y = w.y; y < w.y + w.height; y += 1) {
      for (let x = w.x; x < w.x + w.width; x += 1) {
        const other = taken.get(`${x},${y}`);
        if (other) throw new Error(`dashboard: "${widgetTitle(w)}" overlaps "${other}"`);
        taken.set(`${x},${y}`, widgetTitle(w));
      }
    }
  }
  const grid = Array.from({ length: rows + 1 }, () => Array(24 * cell + 1).fill(' '));
  const put = (r, c, ch) => {
    const was = grid[r][c];
    grid[r][c] = was === ' ' || was === ch ? ch : '+';
  };
  for (const w of widgets) {
    const [top, bottom, left, right] = [w.y, w.y + w.height, w.x * cell, (w.x + w.width) * cell];
    for (let c = left; c <= right; c += 1) {
      put(top, c, c === left || c === right ? '+' : '-');
      put(bottom, c, c === left || c === right ? '+' : '-');
    }
    for (let r = top + 1; r < bottom; r += 1) {
      put(r, left, '|');
      put(r, right, '|');
    }
    const text = wrap(widgetTitle(w), right - left - 3).slice(0, bottom - top - 1);
    text.forEach((line, i) => [...line].forEach((ch, j) => (grid[top + 1 + i][left + 2 + j] = ch)));
  }
  return grid.map((r) => r.join('').trimEnd()).join('\n');
}

/**
 * The metrics a metric widget reads, each {namespace, name, dims, search} (dims: the dimensions' names; search: true
 * for a SEARCH expression, which reads every metric it finds): its metric arrays ([namespace, name, dimension, value,
 * …, {options}]) and its SEARCH expressions; other expressions (FILL…) only compute on those.
 */
export function metricsRead(widget) {
  const read = [];
  for (const m of widget.properties.metrics ?? []) {
    if (typeof m[0] === 'string') {
      const dims = m.slice(2).filter((d, i) => i % 2 === 0 && typeof d === 'string' && typeof m[3 + i] === 'string');
      read.push({ namespace: m[0], name: m[1], dims, search: false });
    }
    const search = /^SEARCH\('\{([^}]*)\} MetricName="(\w+)"/.exec(m[0]?.expression ?? '');
    if (search) {
      const [namespace, ...dims] = search[1].split(',');
      read.push({ namespace, name: search[2], dims, search: true });
    }
  }
  return read;
}

/**
 * CloudWatch's documented limits on a dashboard (CloudWatch service quotas, "Dashboards": widgets, metrics per widget
 * and per dashboard, counting the metrics a math expression reads even when not shown; search expression syntax,
 * "Search expression limits": search expressions per graph) and its free tier (CloudWatch pricing: 3 dashboards of up
 * to 50 metrics each a month; each other one $3.00 a month).
 */
export const DASHBOARD_LIMITS = { widgets: 500, metricsPerWidget: 500, metricsPerDashboard: 2500, searchesPerGraph: 100, freeMetrics: 50, usdPerMonth: 3 };

/**
 * The metrics a dashboard references, as CloudWatch counts them: `named`, each line of a metric widget naming one (a
 * hidden input of an expression included; the same metric at two statistics is two lines); `searches`, the SEARCH
 * expressions, each as many as it finds, by the dimension that tells them apart (`Pipeline`: one per pipeline,
 * `FunctionName`: one per function). `pipelines`: how many pipelines the per-pipeline widgets show whole within the
 * limits, the stack's `functions` each found once.
 */
export function dashboardMetrics(body = dashboardBody(), functions = makefileFunctions().length) {
  const widgets = body.widgets
    .filter((w) => w.type === 'metric')
    .map((w) => {
      const read = metricsRead(w);
      return { title: widgetTitle(w), named: read.filter((m) => !m.search).length, searches: read.filter((m) => m.search).map((m) => ({ name: m.name, by: m.dims.at(-1) })) };
    });
  const named = widgets.reduce((n, w) => n + w.named, 0);
  const searches = widgets.flatMap((w) => w.searches);
  const perPipeline = searches.filter((s) => s.by === 'Pipeline').length;
  const perFunction = searches.filter((s) => s.by === 'FunctionName').length;
  const room = [
    ...widgets.filter((w) => w.searches.some((s) => s.by === 'Pipeline')).map((w) => DASHBOARD_LIMITS.metricsPerWidget - w.named - (w.searches.length - 1)),
    Math.floor((DASHBOARD_LIMITS.metricsPerDashboard - named - perFunction * functions) / Math.max(perPipeline, 1)),
  ];
  return { widgets, named, searches, perPipeline, perFunction, pipelines: Math.min(...room) };
}

/** infra/README.md's sentence on how many metrics the dashboard references, against CloudWatch's limits. */
function dashboardMetricsSentence(body) {
  const m = dashboardMetrics(body);
  const { metricsPerWidget, metricsPerDashboard, freeMetrics, usdPerMonth } = DASHBOARD_LIMITS;
  const names = (by) => [...new Set(m.searches.filter((s) => s.by === by).map((s) => `\`${s.name}\``))].join(', ');
  return [
    `The widgets name ${m.named} metrics (each line of a widget's \`metrics\`, a hidden input of an expression included, as`,
    `CloudWatch counts them) and hold ${m.searches.length} SEARCH expressions, each as many metrics as it finds: ${m.perPipeline} per pipeline`,
    `(${names('Pipeline')} by \`Pipeline\`) and ${m.perFunction} per function EMR throttled (${names('FunctionName')}). CloudWatch allows`,
    `${metricsPerWidget.toLocaleString('en-US')} metrics per widget and ${metricsPerDashboard.toLocaleString('en-US')} per dashboard: the per-pipeline widgets show up to ${m.pipelines} pipelines whole. Past`,
    `${freeMetrics} metrics a dashboard is outside CloudWatch's free tier, so this one costs $${usdPerMonth} a month once a run has ended.`,
  ].join('\n');
}

/** What a widget reads, in a sentence: metrics by namespace and dimensions, or the log groups a query reads. */
export function widgetReads(w) {
  if (w.type === 'text') return '';
  if (w.type === 'log') return `Logs Insights over ${[...w.properties.query.matchAll(/SOURCE '\$\{(\w+)\}'/g)].map((m) => `\`${m[1]}\``).join(', ')}`;
  const groups = new Map();
  for (const { namespace, name, dims } of metricsRead(w)) {
    const key = `${namespace} by ${dims.join(', ')}`;
    if (!groups.has(key)) groups.set(key, { namespace, dims, names: [] });
    if (!groups.get(key).names.includes(name)) groups.get(key).names.push(name);
  }
  return [...groups.values()].map((g) => `${g.namespace} ${g.names.map((n) => `\`${n}\``).join(', ')} by ${g.dims.join(', ')}`).join('; ');
}

/** infra/README.md's picture of the dashboard, and what each widget reads, from the template. */
export function dashboardBlock(body = dashboardBody()) {
  return [
    '```text',
    dashboardPicture(body),
    '```',
    '',
    '| widget | reads |',
    '|---|---|',
    ...body.widgets.filter((w) => w.type !== 'text').map((w) => `| ${widgetTitle(w)} | ${widgetReads(w)} |`),
    '',
    dashboardMetricsSentence(body),
  ].join('\n');
}

/**
 * The generated blocks, by name; a document holds any of them between `<!-- bench:NAME -->` and
 * `<!-- /bench:NAME -->`, on lines of their own, or inline (a figure in a sentence) for the names in INLINE.
 */
function blocks() {
  const l = read('lambdas.json');
  const s = read('statemachine.json');
  return {
    lambdas: lambdasBlock(l),
    bytes: bytesBlock(l),
    statemachine: statemachineBlock(s),
    targets: targetsBlock(s),
    'statemachine-summary': statemachineSummary(s),
    fortnight: fortnightBlock(s),
    'fortnight-summary': fortnightSummary(s),
    'fortnight-real': fortnightReal(s),
    cost: costBlock(s, l),
    'reconciler-cost': reconcilerCostBlock(l),
    hostile: hostileCount(),
    'gotemplate-cases': gotemplateCases(),
    'real-configs': realConfigs(),
    dashboard: dashboardBlock(),
  };
}

const INLINE = new Set(['fortnight', 'statemachine-summary', 'fortnight-real', 'hostile', 'gotemplate-cases', 'real-configs', 'fortnight-summary']);

export const DOCUMENTS = {
  'README.md': ['lambdas', 'bytes', 'statemachine', 'fortnight-summary', 'hostile', 'gotemplate-cases', 'real-configs'],
  'statemachine/README.md': ['fortnight', 'statemachine', 'statemachine-summary', 'fortnight-real', 'targets'],
  'infra/README.md': ['cost', 'reconciler-cost', 'dashboard'],
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

/**
 * What reads like a measurement: a size, a duration in milliseconds, a percentage, a ratio, or a count of history
 * events, state transitions, checks or calls. Outside the generated blocks a README may state such a figure only if it
 * is a constant of the design (a limit, a default, a price, a test's parameter), listed in CONSTANTS.
 */
const FIGURE = /\b\d[\d,.]*(?:\s?(?:MiB|KiB|MB|KB|GB|ms\b|%|history events|(?:state )?transitions|checks|(?:EMR |API )?calls)|×(?!\d))/g;

/** Figures that are constants of the design, by README: where each one comes from is said beside it there. */
export const CONSTANTS = {
  'README.md': [
    '1 MiB', // a config's size limit (crates/core)
    '5 MiB', // the rendered text's limit (crates/gotemplate)
    '5 MB', // the hostile corpus's oversized template
  ],
  'statemachine/README.md': [
    '10 %', // check-status's jitter (crates/core/src/status.rs), −10 % to +10 %
    '0 %', // … at a cap, −10 % to 0 %
    '3 state transitions', // a poll: the loop's three states
    '9 history events', // … and the history events they write
    '52 %', // the history budget's arithmetic (its table), beside the measured figures
    '2,775 checks', // the arithmetic of a fixed 30 s loop: 25,000 / 9
    '20 transitions', // the bench's targets (tests/statemachine/bench.mjs, TARGETS)
    '6 EMR calls',
    '80 history events',
    '150 transitions',
    '30 %', // the fault matrix's faults (test/fault-matrix.test.mjs)
    '90 %',
    '1 ms', // the harness's retry pause (lib/harness.mjs)
  ],
  'infra/README.md': [
    '128 MB', // the functions' memory (infra/template.yaml)
    '8 KiB', // a lock's failure cause, at most (crates/locks)
  ],
  'functions/README.md': [
    '1 MiB', // a config's size limit
    '160 KiB', // the configs' share of an execution's state data
    '256 KiB', // Step Functions' state data limit
    '64 KiB', // check-status's answer limit
    '10 %', // the poll delay's jitter
  ],
  'crates/emr-emulator/README.md': [
    '10 %', // EMR Serverless's memory overhead per worker (crates/emr-emulator/src/serverless/ops.rs, resources)
    '16 GB', // … its default worker: 14g and the overhead
    '64 GB', // … a default job run's memory and disk: a driver and 3 executors
    '80 GB',
    '20 GB', // … the storage each worker has without charge (FREE_STORAGE_GB_PER_WORKER)
  ],
  'crates/gotemplate/README.md': ['1 MiB', '5 MiB'],
  'tests/corpus/README.md': [],
  'examples/failing-step/README.md': [],
};

/** Every README of the repository, by path from the root. */
function readmes(dir = root) {
  const skip = new Set(['.git', 'node_modules', 'target', '.tools', '.venv']);
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) => {
    if (d.isDirectory()) return skip.has(d.name) ? [] : readmes(join(dir, d.name));
    return d.name === 'README.md' ? [relative(root, join(dir, d.name))] : [];
  });
}

/** The figures `text` states outside its generated blocks that CONSTANTS does not list for `file`, and the unused ones. */
export function handTyped(file, text) {
  const outside = text.replace(/<!-- bench:([\w-]+) -->[\s\S]*?<!-- \/bench:\1 -->/g, '');
  const allowed = CONSTANTS[file] ?? [];
  const found = [...outside.matchAll(FIGURE)].map((m) => m[0].replace(/\s+/g, ' '));
  return {
    unlisted: [...new Set(found.filter((f) => !allowed.includes(f)))],
    unused: allowed.filter((f) => !found.includes(f)),
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const check = process.argv.includes('--check');
  let problems = 0;
  const problem = (message) => {
    console.error(message);
    problems += 1;
  };
  // First: every function measured (the blocks need them all).
  const missing = makefileFunctions().filter((f) => !read('lambdas.json').results.some((r) => r.function === f));
  if (missing.length) {
    console.error(`bench/results/lambdas.json: no figures for ${missing.join(', ')} (the Makefile's FUNCTIONS): run \`make bench-lambdas\``);
    process.exit(1);
  }
  for (const [file, names] of Object.entries(DOCUMENTS)) {
    const path = join(root, file);
    const current = readFileSync(path, 'utf8');
    const wanted = render(current, names);
    if (!check) {
      writeFileSync(path, wanted);
    } else if (current !== wanted) {
      problem(`${file}: generated figures differ from bench/results/ and the test inputs: run \`node bench/readme.mjs\``);
    }
  }
  if (check) {
    for (const file of readmes()) {
      const { unlisted, unused } = handTyped(file, readFileSync(join(root, file), 'utf8'));
      for (const f of unlisted) {
        problem(`${file}: "${f}" reads like a measurement typed by hand: generate it from bench/results through bench/readme.mjs, remove it, or, if it is a constant of the design, list it in CONSTANTS there`);
      }
      for (const f of unused) problem(`bench/readme.mjs: CONSTANTS lists "${f}" for ${file}, which no longer states it: take it off the list`);
    }
  }
  if (problems) process.exit(1);
  if (check) console.log('generated figures match bench/results/; no hand-typed measurement outside the generated blocks');
}
