// `make bench`, state machine part: the reference run (run-transient, 8-minute cluster start,
// 3 steps totalling 2 hours, simulated on the EMR emulator) through the real definition and,
// in the same run, through the same definition with a fixed 30-second polling loop.
// Writes bench/results/statemachine.json and prints a table. Exits 1 if a target is missed.

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadDefinition } from './lib/definitions.mjs';
import { Environment } from './lib/harness.mjs';
import { repoRoot } from './lib/paths.mjs';
import { duration } from './lib/timeline.mjs';
import { playbook, sparkClusterText, step, varsFor } from './test/support.mjs';

// Real steps do not last round numbers of seconds: with round ones every 30 s poll would land exactly on a step end.
const STEP_SECONDS = [1790, 3600, 1795];
const TARGETS = { maxEmrCallsPerSteadyPoll: 1, maxStateTransitions: 150 };

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

async function measure(env, label, definition) {
  const input = {
    cluster: sparkClusterText,
    playbook: playbook([
      step('Stage raw events', { seconds: STEP_SECONDS[0] }),
      step('Enrich with Spark', { seconds: STEP_SECONDS[1] }),
      step('Archive raw events', { seconds: STEP_SECONDS[2] }),
    ]),
    vars: varsFor(`bench-${label}`),
  };
  const started = process.hrtime.bigint();
  const report = await env.run('run-transient', input, { definition, countCallsPerInvocation: true, name: `bench-${label}` });
  const realSeconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (report.status !== 'SUCCEEDED') throw new Error(`${label}: ${report.status} ${report.error} ${report.cause}`);

  const checks = report.invocations.filter((i) => i.fn === 'check-status' && i.output);
  // Steady state: the cluster's state did not change since the previous poll and the run goes on.
  const steady = checks.filter((i) => i.input.previous.clusterState === i.output.clusterState && !i.output.finished);
  const cluster = (await env.clusters()).find((c) => c.Id === report.output.clusterId);
  const lastStepEnd = Math.max(...cluster.Steps.map((s) => s.Status.Timeline.EndDateTime));
  const detected = checks.find((i) => i.output.phase === 'succeeded');
  const m = report.metrics;
  return {
    stateTransitions: m.stateTransitions,
    lambdaInvocations: m.lambdaInvocations,
    polls: m.polls,
    emrCalls: {
      total: report.emrCalls.total,
      byOperation: Object.fromEntries(Object.entries(report.emrCalls.operations).map(([op, c]) => [op, c.calls])),
      perSteadyPollMax: Math.max(...steady.map((i) => i.emrCalls)),
      perSteadyPollMean: Number((steady.reduce((n, i) => n + i.emrCalls, 0) / steady.length).toFixed(3)),
      steadyPolls: steady.length,
    },
    historyEvents: m.historyEvents,
    detectionLatencySeconds: Math.round(detected.virtualTime - lastStepEnd),
    simulatedSeconds: Math.round(report.virtualSeconds),
    realSeconds: Number(realSeconds.toFixed(2)),
  };
}

const env = await Environment.start();
let results;
try {
  const adaptive = await measure(env, 'adaptive', undefined);
  const fixed = await measure(env, 'fixed30s', fixedPollingDefinition());
  results = {
    generatedBy: 'tests/statemachine/bench.mjs',
    reference: {
      machine: 'run-transient',
      clusterStartSeconds: 480,
      stepSeconds: STEP_SECONDS,
      note: 'EMR simulated by the emulator on virtual time; Lambdas are the real binaries; counts are those of the real definitions',
    },
    runs: { adaptive, fixed30s: fixed },
    targets: TARGETS,
    met: {
      maxEmrCallsPerSteadyPoll: adaptive.emrCalls.perSteadyPollMax <= TARGETS.maxEmrCallsPerSteadyPoll,
      maxStateTransitions: adaptive.stateTransitions <= TARGETS.maxStateTransitions,
    },
  };
} finally {
  await env.stop();
}

const dir = join(repoRoot, 'bench', 'results');
mkdirSync(dir, { recursive: true });
writeFileSync(join(dir, 'statemachine.json'), `${JSON.stringify(results, null, 2)}\n`);

const a = results.runs.adaptive;
const f = results.runs.fixed30s;
const rows = [
  ['state transitions', a.stateTransitions, f.stateTransitions],
  ['Lambda invocations', a.lambdaInvocations.total, f.lambdaInvocations.total],
  ['  check-status polls', a.polls, f.polls],
  ['EMR API calls', a.emrCalls.total, f.emrCalls.total],
  ['  per steady-state poll (max / mean)', `${a.emrCalls.perSteadyPollMax} / ${a.emrCalls.perSteadyPollMean}`, `${f.emrCalls.perSteadyPollMax} / ${f.emrCalls.perSteadyPollMean}`],
  ['history events', a.historyEvents, f.historyEvents],
  ['detection latency (last step end → run reported)', duration(a.detectionLatencySeconds), duration(f.detectionLatencySeconds)],
  ['simulated run', duration(a.simulatedSeconds), duration(f.simulatedSeconds)],
  ['real time to simulate', `${a.realSeconds}s`, `${f.realSeconds}s`],
];
console.log('\nState machine reference run: run-transient, 8-minute cluster start, 3 steps totalling 2 h (1790 + 3600 + 1795 s)');
console.log('(real definitions and Lambda binaries; EMR simulated on virtual time)\n');
console.log(`  ${''.padEnd(50)}  ${'adaptive (ours)'.padStart(16)}  ${'fixed 30 s'.padStart(12)}`);
for (const [label, x, y] of rows) console.log(`  ${label.padEnd(50)}  ${String(x).padStart(16)}  ${String(y).padStart(12)}`);
const ok = (b) => (b ? 'met' : 'MISSED');
console.log(
  `\n  targets: ≤ ${TARGETS.maxEmrCallsPerSteadyPoll} EMR call per steady-state poll: ${ok(results.met.maxEmrCallsPerSteadyPoll)} (${a.emrCalls.perSteadyPollMax}); ` +
    `≤ ${TARGETS.maxStateTransitions} state transitions: ${ok(results.met.maxStateTransitions)} (${a.stateTransitions})`,
);
console.log(`  written to bench/results/statemachine.json`);
if (!Object.values(results.met).every(Boolean)) process.exitCode = 1;
