// `make bench`, state machine part: the reference run (run-transient, 8-minute cluster start, 3 steps totalling 2
// hours, simulated on the EMR emulator) through the real definitions and binaries, side by side in one run:
//   - events: waiting for EMR's events (options.completion "events", the default);
//   - events, all lost: the same with every EMR event dropped (the backstop alone);
//   - adaptive polling: options.completion "poll" (check-status decides each pause);
//   - fixed 30 s: the same definition with a fixed 30-second polling loop (what a hand-written loop does).
// Then a scale simulation: 1,000 such runs started over an hour, each making its EMR calls at the virtual times the
// measured run made them, gives the account's EMR calls per second for each mode beside EMR's default rate limits.
// Then the history budget's 14-day runs (lib/fortnight.mjs, the runs test/history-budget.test.mjs checks): what a
// two-week job writes polling, waiting for events with every event lost, and as `run` on a long-running cluster.
// Writes bench/results/statemachine.json and prints a table. Exits 1 if a target is missed.

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadDefinition } from './lib/definitions.mjs';
import { fortnightRun, fortnightTransient, HISTORY_LIMIT } from './lib/fortnight.mjs';
import { Environment } from './lib/harness.mjs';
import { repoRoot } from './lib/paths.mjs';
import { CLUSTER_START_SECONDS, measureReference, measureServerlessReference, STEP_SECONDS } from './lib/reference.mjs';
import { duration } from './lib/timeline.mjs';

/** The issue's budget for the reference run waiting for events, and the polling targets kept from before. */
const TARGETS = {
  // maxEmrCalls: the run's own calls; reading its cost at the end takes at most maxCostReads more.
  events: { maxStateTransitions: 20, maxLambdaInvocations: 10, maxEmrCalls: 6, maxCostReads: 2, maxHistoryEvents: 80, maxDetectionLatencySeconds: 5 },
  adaptive: { maxEmrCallsPerSteadyPoll: 1, maxStateTransitions: 150 },
};

/**
 * EMR's default API rate limits per account and region (token buckets: burst, refill per second). Source: the
 * project's reference notes on AWS (aws-facts.md, "Default API rate limits"), which record EMR's documented
 * defaults for API throttling; an account's own quotas may differ (Service Quotas).
 */
const EMR_RATE_LIMITS = {
  source: "Amazon EMR's default API rate limits per account and region, as recorded in the project's AWS reference notes",
  perOperation: {
    DescribeCluster: { burst: 10, refillPerSecond: 1 },
    ListSteps: { burst: 10, refillPerSecond: 0.5 },
    ListClusters: { burst: 20, refillPerSecond: 0.5 },
    RunJobFlow: { burst: 10, refillPerSecond: 0.5 },
    TerminateJobFlows: { burst: 10, refillPerSecond: 0.5 },
  },
  allOperations: { burst: 25, refillPerSecond: 5 },
};
const SCALE = { runs: 1000, startWindowSeconds: 3600, seed: 20261202 };

/** The same state machine, polling every 30 s whatever check-status says. */
function fixedPollingDefinition() {
  const def = loadDefinition('run-transient');
  const wait = def.States['Wait for the next check'];
  delete wait.SecondsPath;
  wait.Seconds = 30;
  wait.Comment = 'Bench variant: a fixed 30-second polling loop.';
  def.States['Prepare the run'].Parameters.status.nextPollSeconds = 30;
  return def;
}

/** A small deterministic PRNG (mulberry32): the same start times on every bench run. */
function random(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * `runs` copies of one run's EMR calls (operation, seconds after its start), the runs started uniformly at random
 * over `startWindowSeconds`: per operation (and all together), the mean calls per second while runs are active, the
 * highest 60-second average, and the most calls in one second, beside the limit's refill rate and burst.
 */
function simulateScale(callTimes, { runs, startWindowSeconds, seed }) {
  const next = random(seed);
  const starts = Array.from({ length: runs }, () => next() * startWindowSeconds);
  const span = Math.ceil(startWindowSeconds + Math.max(...callTimes.map((c) => c.at), 1)) + 1;
  const operations = [...new Set(callTimes.map((c) => c.operation))].sort();
  const perSecond = (filter) => {
    const buckets = new Float64Array(span);
    for (const s of starts) for (const c of callTimes) if (filter(c)) buckets[Math.floor(s + c.at)] += 1;
    let peakSecond = 0;
    let peakMinute = 0;
    let window = 0;
    for (let i = 0; i < span; i += 1) {
      window += buckets[i] - (i >= 60 ? buckets[i - 60] : 0);
      peakSecond = Math.max(peakSecond, buckets[i]);
      if (i >= 59) peakMinute = Math.max(peakMinute, window / 60);
    }
    const total = buckets.reduce((n, b) => n + b, 0);
    return { calls: total, meanPerSecond: Number((total / span).toFixed(3)), peak60sPerSecond: Number(peakMinute.toFixed(3)), peakInOneSecond: peakSecond };
  };
  const result = {};
  for (const op of operations) {
    const limit = EMR_RATE_LIMITS.perOperation[op];
    const r = perSecond((c) => c.operation === op);
    result[op] = { ...r, ...(limit && { refillPerSecond: limit.refillPerSecond, burst: limit.burst, withinRefill: r.peak60sPerSecond <= limit.refillPerSecond }) };
  }
  const all = perSecond(() => true);
  result.all = { ...all, refillPerSecond: EMR_RATE_LIMITS.allOperations.refillPerSecond, burst: EMR_RATE_LIMITS.allOperations.burst, withinRefill: all.peak60sPerSecond <= EMR_RATE_LIMITS.allOperations.refillPerSecond };
  return { simulatedSeconds: span, operations: result };
}

const runs = {};
async function measureIn(environment, label, options, look) {
  const env = await Environment.start(environment);
  try {
    look?.(env);
    return await measureReference(env, label, options);
  } finally {
    await env.stop();
  }
}
runs.events = await measureIn({}, 'events', {});
runs.eventsAllLost = await measureIn({ faults: { events: { dropRate: 1 } } }, 'events-lost', {});
// The same with the stack's reconciler sweeping on its default schedule (the template's ReconcileRule).
let sweepPeriod;
runs.eventsAllLostReconciled = await measureIn({ reconciler: true, faults: { events: { dropRate: 1 } } }, 'events-lost-reconciled', {}, (env) => {
  sweepPeriod = env.sweepSeconds;
});
runs.adaptive = await measureIn({}, 'adaptive', { options: { completion: 'poll' } });
runs.fixed30s = await measureIn({}, 'fixed30s', { options: { completion: 'poll' }, definition: fixedPollingDefinition() });

// The same playbook on EMR Serverless (statemachine/serverless-run-transient.asl.json), beside the EMR runs: waiting
// for EMR Serverless's events, with every event lost, and polling.
async function measureServerlessIn(environment, label, options) {
  const env = await Environment.start(environment);
  try {
    return await measureServerlessReference(env, label, options);
  } finally {
    await env.stop();
  }
}
const serverless = {
  events: await measureServerlessIn({}, 'serverless-events'),
  eventsAllLost: await measureServerlessIn({ faults: { events: { dropRate: 1 } } }, 'serverless-events-lost'),
  polling: await measureServerlessIn({}, 'serverless-polling', { completion: 'poll' }),
};

/** A 14-day run, measured in its own environment: what it wrote, and the real time it took to simulate. */
async function fortnight(environment, measure) {
  const env = await Environment.start(environment);
  try {
    const started = process.hrtime.bigint();
    const { report, ...counts } = await measure(env);
    if (report.status !== 'SUCCEEDED') throw new Error(`a 14-day ${report.machine}: ${report.status} ${report.error} ${report.cause}`);
    return { machine: report.machine, ...counts, realSeconds: Number((Number(process.hrtime.bigint() - started) / 1e9).toFixed(1)) };
  } finally {
    await env.stop();
  }
}
const fortnights = {
  historyLimit: HISTORY_LIMIT,
  polling: await fortnight({}, (env) => fortnightTransient(env, 'bench-fortnight', { completion: 'poll' })),
  eventsAllLost: await fortnight({ faults: { events: { dropRate: 1 } } }, (env) => fortnightTransient(env, 'bench-fortnight-events')),
  runPolling: await fortnight({}, (env) => fortnightRun(env, 'bench-fortnight-run')),
};

const scale = {
  ...SCALE,
  limits: EMR_RATE_LIMITS,
  modes: Object.fromEntries(Object.entries(runs).map(([mode, r]) => [mode, simulateScale(r.emrCallTimes, SCALE)])),
};

const e = runs.events;
const met = {
  events: {
    maxStateTransitions: e.stateTransitions <= TARGETS.events.maxStateTransitions,
    maxLambdaInvocations: e.lambdaInvocations.total <= TARGETS.events.maxLambdaInvocations,
    maxEmrCalls: e.emrCalls.total - e.emrCalls.costReads <= TARGETS.events.maxEmrCalls,
    maxCostReads: e.emrCalls.costReads <= TARGETS.events.maxCostReads,
    maxHistoryEvents: e.historyEvents <= TARGETS.events.maxHistoryEvents,
    maxDetectionLatencySeconds: e.detectionLatencySeconds <= TARGETS.events.maxDetectionLatencySeconds,
    allLostSucceeds: runs.eventsAllLost.report.status === 'SUCCEEDED',
  },
  eventsAllLostReconciled: {
    withinOneSweepPeriod: runs.eventsAllLostReconciled.detectionLatencySeconds <= sweepPeriod,
    maxStateTransitions: runs.eventsAllLostReconciled.stateTransitions <= TARGETS.events.maxStateTransitions,
  },
  adaptive: {
    maxEmrCallsPerSteadyPoll: runs.adaptive.emrCalls.perSteadyPollMax <= TARGETS.adaptive.maxEmrCallsPerSteadyPoll,
    maxStateTransitions: runs.adaptive.stateTransitions <= TARGETS.adaptive.maxStateTransitions,
  },
  fortnight: {
    underHistoryLimit: [fortnights.polling, fortnights.eventsAllLost, fortnights.runPolling].every((f) => f.historyEvents < HISTORY_LIMIT),
  },
};
const results = {
  generatedBy: 'tests/statemachine/bench.mjs',
  reference: {
    machine: 'run-transient',
    clusterStartSeconds: CLUSTER_START_SECONDS,
    stepSeconds: STEP_SECONDS,
    note: 'EMR simulated by the emulator on virtual time; Lambdas are the real binaries; counts are those of the real definitions; Lambda invocations include event-router\'s (EMR events delivered during the run)',
  },
  runs: Object.fromEntries(Object.entries(runs).map(([k, { report, emrCallTimes, ...r }]) => [k, r])),
  serverless: Object.fromEntries(Object.entries(serverless).map(([k, { report, ...r }]) => [k, r])),
  scale,
  fortnight: fortnights,
  targets: TARGETS,
  sweepPeriodSeconds: sweepPeriod,
  met,
};

const dir = join(repoRoot, 'bench', 'results');
mkdirSync(dir, { recursive: true });
writeFileSync(join(dir, 'statemachine.json'), `${JSON.stringify(results, null, 2)}\n`);

const cols = ['events', 'eventsAllLost', 'eventsAllLostReconciled', 'adaptive', 'fixed30s'];
const heads = ['events (ours)', 'events, all lost', 'all lost, swept', 'adaptive polls', 'fixed 30 s'];
const rows = [
  ['state transitions', (r) => r.stateTransitions],
  ['Lambda invocations', (r) => r.lambdaInvocations.total],
  ['  event-router after the run (its cluster ending)', (r) => r.eventRouterAfterEnd],
  ['EMR API calls', (r) => r.emrCalls.total],
  ['  of which reading its cost', (r) => r.emrCalls.costReads],
  ['  reconciler sweeps meanwhile (their calls)', (r) => `${r.sweeps.count} (${r.sweeps.emrCalls})`],
  ['history events', (r) => r.historyEvents],
  ['detection latency (cluster end → run reported)', (r) => duration(r.detectionLatencySeconds)],
  ['simulated run', (r) => duration(r.simulatedSeconds)],
  ['real time to simulate', (r) => `${r.realSeconds}s`],
];
console.log(`\nState machine reference run: run-transient, ${CLUSTER_START_SECONDS / 60}-minute cluster start, 3 steps totalling 2 h (${STEP_SECONDS.join(' + ')} s)`);
console.log('(real definitions and Lambda binaries; EMR simulated on virtual time)\n');
console.log(`  ${''.padEnd(50)}${heads.map((h) => h.padStart(18)).join('')}`);
for (const [label, f] of rows) console.log(`  ${label.padEnd(50)}${cols.map((c) => String(f(results.runs[c])).padStart(18)).join('')}`);
console.log('\nThe same playbook on both targets, waiting for events and polling');
const targets = [
  ['state transitions', (r) => r.stateTransitions, (r) => r.stateTransitions],
  ['Lambda invocations', (r) => r.lambdaInvocations.total, (r) => r.lambdaInvocations.total],
  ['API calls (EMR / EMR Serverless)', (r) => r.emrCalls.total, (r) => r.apiCalls.total],
  ['history events', (r) => r.historyEvents, (r) => r.historyEvents],
  ['detection latency (last step end → run reported)', (r) => duration(r.detectionLatencySeconds), (r) => duration(r.detectionLatencySeconds)],
];
console.log(`  ${''.padEnd(50)}${['EMR, events', 'EMR, polling', 'Serverless, events', 'Serverless, polls'].map((h) => h.padStart(20)).join('')}`);
for (const [label, emr, sls] of targets) {
  const values = [emr(results.runs.events), emr(results.runs.adaptive), sls(results.serverless.events), sls(results.serverless.polling)];
  console.log(`  ${label.padEnd(50)}${values.map((v) => String(v).padStart(20)).join('')}`);
}
console.log(`\n${SCALE.runs} runs started over ${SCALE.startWindowSeconds / 60} minutes: EMR calls per second, highest 60-second average (refill limit)`);
const ops = ['DescribeCluster', 'ListSteps', 'all'];
for (const op of ops) {
  const limit = op === 'all' ? EMR_RATE_LIMITS.allOperations.refillPerSecond : EMR_RATE_LIMITS.perOperation[op].refillPerSecond;
  console.log(`  ${op.padEnd(48)}${cols.map((c) => String(scale.modes[c].operations[op]?.peak60sPerSecond ?? 0).padStart(18)).join('')}   (limit ${limit}/s)`);
}
console.log(`  limits: ${EMR_RATE_LIMITS.source}`);
console.log('\n14-day runs (checks, state transitions, history events; real time to simulate)');
for (const [label, f] of Object.entries(fortnights).filter(([, f]) => typeof f === 'object')) {
  console.log(`  ${`${label} (${f.machine})`.padEnd(48)}${String(f.checks).padStart(8)}${String(f.stateTransitions).padStart(8)}${String(f.historyEvents).padStart(8)}   ${f.realSeconds}s`);
}
const missed = Object.entries(met).flatMap(([mode, m]) => Object.entries(m).filter(([, ok]) => !ok).map(([k]) => `${mode}.${k}`));
console.log(`\n  targets: ${missed.length ? `MISSED ${missed.join(', ')}` : 'all met'}; written to bench/results/statemachine.json`);
if (missed.length) process.exitCode = 1;
