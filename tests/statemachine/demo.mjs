// `make demo`: the realistic Spark example (examples/spark) through the real run-transient state
// machine, then a run whose second step fails (examples/failing-step), each with a timeline and
// exactly what Step Functions would show: the output, or the Error and Cause.
//
//   node demo.mjs [spark|failing-step]...     (both by default)
//
// The Lambdas are the real binaries; EMR is the local emulator, on virtual time.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Environment } from './lib/harness.mjs';
import { examplesDir } from './lib/paths.mjs';
import { clock, lastSteps, stepTable, timeline } from './lib/timeline.mjs';

const EXAMPLES = {
  spark: { title: 'nightly enrichment on Spark', expect: 'SUCCEEDED' },
  'failing-step': { title: 'a run whose second step fails', expect: 'FAILED' },
};

function read(example, file) {
  return readFileSync(join(examplesDir, example, file), 'utf8');
}

function indent(text, by = '  ') {
  return text
    .split('\n')
    .map((l) => by + l)
    .join('\n');
}

async function demo(env, example) {
  const { title, expect } = EXAMPLES[example];
  const input = {
    cluster: read(example, 'cluster.json'),
    playbook: read(example, 'playbook.json'),
    vars: JSON.parse(read(example, 'vars.json')),
  };
  const name = `demo-${example}-${new Date().toISOString().slice(0, 10)}`;
  console.log(`\n━━ run-transient: ${title} (examples/${example}) ━━`);
  console.log(`execution "${name}", input: cluster.json and playbook.json as raw templates, vars.json as vars\n`);
  const report = await env.run('run-transient', input, { name });
  console.log(`  ${'time'.padStart(10)}  ${'state'.padEnd(30)}  what happened`);
  for (const line of timeline(report)) console.log(line);

  const steps = lastSteps(report);
  if (steps.length) {
    console.log('\nSteps');
    for (const line of stepTable(steps)) console.log(line);
  }
  console.log(`\nExecution ${report.status} after ${clock(report.virtualSeconds)} (simulated)`);
  if (report.status === 'SUCCEEDED') {
    console.log('Output:');
    console.log(indent(JSON.stringify(report.output, null, 2)));
  } else {
    console.log(`Error: ${report.error}`);
    console.log('Cause:');
    console.log(indent(report.causeJson ? JSON.stringify(report.causeJson, null, 2) : String(report.cause)));
  }
  const clusters = await env.clusters();
  const mine = clusters.filter((c) => report.launchedClusterIds.includes(c.Id));
  console.log(`\nCluster${mine.length > 1 ? 's' : ''}: ${mine.map((c) => `${c.Id} ${c.Status.State} (${c.Status.StateChangeReason?.Code ?? '-'})`).join(', ')}`);
  const m = report.metrics;
  console.log(
    `Cost: ${m.stateTransitions} state transitions, ${m.lambdaInvocations.total} Lambda invocations (${m.polls} checks), ${report.emrCalls.total} EMR calls, ${m.historyEvents} history events`,
  );
  if (report.status !== expect) {
    throw new Error(`examples/${example}: expected ${expect}, got ${report.status} ${report.error ?? ''} ${report.cause ?? ''}`);
  }
}

const chosen = process.argv.slice(2);
const examples = chosen.length ? chosen : Object.keys(EXAMPLES);
for (const e of examples) {
  if (!EXAMPLES[e]) {
    console.error(`unknown example ${e}; one of ${Object.keys(EXAMPLES).join(', ')}`);
    process.exit(2);
  }
}
const env = await Environment.start();
try {
  for (const e of examples) await demo(env, e);
} catch (e) {
  console.error(`\ndemo failed: ${e.message}`);
  process.exitCode = 1;
} finally {
  await env.stop();
}
