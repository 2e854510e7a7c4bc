// `make demo`: what a user types, `dataflow-runner run-transient --emr-config … --emr-playbook … --vars-file …`,
// for the realistic Spark example (examples/spark), then for a run whose second step fails
// (examples/failing-step). The CLI is the real binary talking to a local Step Functions endpoint in front of the
// real run-transient state machine; afterwards, each run's timeline and exactly what Step Functions shows: the
// output, or the Error and Cause.
//
//   node demo.mjs [spark|failing-step]...     (both by default)
//
// The Lambdas are the real binaries; EMR is the local emulator, on virtual time.

import { spawn } from 'node:child_process';
import { relative } from 'node:path';
import { Environment } from './lib/harness.mjs';
import { binary, examplesDir, repoRoot } from './lib/paths.mjs';
import { StepFunctionsServer } from './lib/sfn-server.mjs';
import { clock, lastSteps, stepTable, timeline } from './lib/timeline.mjs';

const EXAMPLES = {
  spark: { title: 'nightly enrichment on Spark', expect: 'SUCCEEDED', exit: 0 },
  'failing-step': { title: 'a run whose second step fails', expect: 'FAILED', exit: 1 },
};

/** The CLI as a user runs it, its output on this terminal. */
function dataflowRunner(server, args) {
  return new Promise((resolve) => {
    const child = spawn(binary('dataflow-runner'), args, {
      cwd: repoRoot,
      env: {
        ...process.env,
        AWS_ENDPOINT_URL_SFN: server.url,
        AWS_REGION: 'eu-west-1',
        AWS_ACCESS_KEY_ID: 'AKIDDEMO',
        AWS_SECRET_ACCESS_KEY: 'demo',
        AWS_EC2_METADATA_DISABLED: 'true',
        DATAFLOW_RUNNER_POLL_SECONDS: '0.2',
      },
      stdio: 'inherit',
    });
    child.on('close', (code) => resolve(code));
  });
}

function indent(text, by = '  ') {
  return text
    .split('\n')
    .map((l) => by + l)
    .join('\n');
}

async function demo(env, server, example) {
  const { title, expect, exit } = EXAMPLES[example];
  const dir = relative(repoRoot, `${examplesDir}/${example}`);
  const name = `demo-${example}-${new Date().toISOString().replace(/[-:]/g, '').slice(0, 15)}`;
  const args = ['run-transient', '--emr-config', `${dir}/cluster.json`, '--emr-playbook', `${dir}/playbook.json`, '--vars-file', `${dir}/vars.json`, '--name', name];
  console.log(`\n━━ run-transient: ${title} (${dir}) ━━\n`);
  console.log(`$ dataflow-runner ${args.join(' ')}`);
  const code = await dataflowRunner(server, args);
  console.log(`(exit ${code})`);
  if (code !== exit) throw new Error(`${dir}: the CLI exited ${code}, expected ${exit}`);
  await server.idle();
  const { report } = [...server.executions.values()].find((e) => e.name === name);
  console.log(`\nWhat Step Functions ran (the real definition; EMR simulated on virtual time):\n`);
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
    `Cost: ${m.stateTransitions} state transitions, ${m.lambdaInvocations.total} Lambda invocations (${m.byState['Check the run'] ?? 0} checks, ${m.callbackWaits ?? 0} waits for events, ${m.eventDeliveries ?? 0} events delivered), ${report.emrCalls.total} EMR calls, ${m.historyEvents} history events`,
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
const server = await new StepFunctionsServer(env).start();
try {
  for (const e of examples) await demo(env, server, e);
} catch (e) {
  console.error(`\ndemo failed: ${e.message}`);
  process.exitCode = 1;
} finally {
  await server.stop();
  await env.stop();
}
