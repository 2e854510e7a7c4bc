// The fault matrix: how AWS and EMR really fail, each fault a named test through the real definitions, the real
// binaries and the emulator under the deployed IAM. Every row asserts the final status and error name, that each
// launch attempt made exactly one cluster (never two for one run), and that nothing the run launched is left
// running once the stack's cleanup has done its part. statemachine/README.md shows the matrix; a test below
// checks that table against these rows, so it cannot drift.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadDefinition } from '../lib/definitions.mjs';
import { FunctionError } from '../lib/harness.mjs';
import { repoRoot } from '../lib/paths.mjs';
import { ACTIVE, applicationsOf, assertNoApplicationLeft, assertNothingLeftRunning, clusterNameFor, explain, playbook, serverlessInput, sparkClusterText, step, varsFor, withEnvironment } from './support.mjs';

const READS = ['DescribeCluster', 'ListSteps', 'ListClusters', 'DescribeStep'];
/** How runs learn of their end (options.completion): every row runs in both. */
const MODES = ['events', 'poll'];
const twoSteps = [step('Stage', { seconds: 600 }), step('Enrich', { seconds: 1800 })];
/** The benchmark's reference run: an 8-minute start (the emulator's default), then three steps, two hours in all. */
const referenceSteps = [step('Stage raw events', { seconds: 1790 }), step('Enrich with Spark', { seconds: 3600 }), step('Archive raw events', { seconds: 1795 })];

/** The clusters an execution launched (its execution tag), by launch attempt (its run-key tag). */
async function launchedBy(env, report) {
  const clusters = (await env.clusters()).filter((c) => c.Tags?.some((t) => t.Key === 'dataflow-runner:execution' && t.Value === report.executionArn));
  const byAttempt = {};
  for (const c of clusters) {
    const key = c.Tags.find((t) => t.Key === 'dataflow-runner:run-key')?.Value;
    (byAttempt[key] ??= []).push(c.Id);
  }
  return { clusters, byAttempt };
}

/** An `up` cluster for the run and down rows; returns its id. */
async function upCluster(env, name, completion) {
  const up = await env.run('up', { cluster: sparkClusterText, vars: varsFor(name), options: { completion } });
  assert.equal(up.status, 'SUCCEEDED', explain(up));
  return up.output.clusterId;
}

/** Calls EMR as someone else in the account, with the cluster id of the run in flight. */
async function actByHand(env, operation, body) {
  const id = (await env.clusters()).filter((c) => ACTIVE.includes(c.Status.State)).at(-1)?.Id;
  await env.emrAsOperator(operation, body(id, await env.clusters()));
}

/**
 * The run options that act by hand mid-run: polling, before the 4th check; waiting for events, 30 minutes into the
 * first wait after the cluster started (as an operator would, while no function runs).
 */
const byHand = (completion, operation, body) =>
  completion === 'poll'
    ? { beforeTask: async ({ fn, attempt, env }) => fn === 'check-status' && attempt === 4 && actByHand(env, operation, body) }
    : {
        callbackActions: ({ env }) => [{ after: 1800, run: () => actByHand(env, operation, body) }],
      };

const unhandled = (name) => () => new FunctionError(name, `${name}: the function did not finish`);

/**
 * fault → outcome, for runs in `completion` mode. `environment`: options of Environment.start; `run(env)`: the
 * report(s) to judge (the last is the row's run); `status`/`error`: its end; `attempts`: launch attempts, each
 * exactly one cluster (0 for run and down).
 */
export function matrix(completion) {
  const transient = (name, steps, options) => ({ cluster: sparkClusterText, playbook: playbook(steps), vars: varsFor(name), options: { completion, ...options } });
  const runInput = (clusterId, steps) => ({ clusterId, playbook: playbook(steps), options: { completion } });
  const upCluster_ = (env, name) => upCluster(env, name, completion);
  /** A check-status invocation during the steps of a long run: polls are frequent, waits for events are few. */
  const duringSteps = completion === 'poll' ? 5 : 3;
  return [
  { fault: 'a step fails, CANCEL_AND_WAIT (run-transient)', outcome: 'FAILED StepFailed, cluster terminated', status: 'FAILED', error: 'StepFailed', attempts: 1,
    run: (env) => env.run('run-transient', transient('aof-cancel', [step('Stage', { fail: true }), step('Enrich')])) },
  { fault: 'a step fails, CONTINUE (run-transient)', outcome: 'FAILED StepFailed after the later steps ran', status: 'FAILED', error: 'StepFailed', attempts: 1,
    run: (env) => env.run('run-transient', transient('aof-continue', [step('Stage', { fail: true, action: 'CONTINUE' }), step('Enrich')])) },
  { fault: 'a step fails, TERMINATE_CLUSTER (run-transient)', outcome: 'FAILED StepFailed, cluster ended by EMR', status: 'FAILED', error: 'StepFailed', attempts: 1,
    run: (env) => env.run('run-transient', transient('aof-terminate', [step('Stage', { fail: true, action: 'TERMINATE_CLUSTER' }), step('Enrich')])) },
  { fault: 'a step fails, CANCEL_AND_WAIT (run)', outcome: 'FAILED StepFailed, the cluster stays up', status: 'FAILED', error: 'StepFailed', attempts: 0, keepsUp: true,
    run: async (env) => env.run('run', runInput(await upCluster_(env, 'run-cancel'), [step('Load', { fail: true }), step('After')])) },
  { fault: 'a step fails, CONTINUE (run)', outcome: 'FAILED StepFailed, the cluster stays up', status: 'FAILED', error: 'StepFailed', attempts: 0, keepsUp: true,
    run: async (env) => env.run('run', runInput(await upCluster_(env, 'run-continue'), [step('Load', { fail: true, action: 'CONTINUE' }), step('After')])) },
  { fault: 'a step fails, TERMINATE_CLUSTER (run)', outcome: 'FAILED StepFailed, EMR ends the cluster', status: 'FAILED', error: 'StepFailed', attempts: 0,
    run: async (env) => env.run('run', runInput(await upCluster_(env, 'run-terminate'), [step('Load', { fail: true, action: 'TERMINATE_CLUSTER' })])) },
  { fault: 'bootstrap fails once', outcome: 'SUCCEEDED on the second launch', status: 'SUCCEEDED', attempts: 2,
    environment: { scenario: { clusters: [{ match: { name: clusterNameFor('boot-once') }, bootstrapFailures: 1 }] } },
    run: (env) => env.run('run-transient', transient('boot-once', twoSteps)) },
  { fault: 'bootstrap always fails', outcome: 'FAILED BootstrapFailure after 3 launches', status: 'FAILED', error: 'BootstrapFailure', attempts: 3,
    environment: { scenario: { clusters: [{ match: { name: clusterNameFor('boot-always') }, bootstrapFailures: 99 }] } },
    run: (env) => env.run('run-transient', transient('boot-always', twoSteps)) },
  { fault: 'EMR throttles 30 % of reads', outcome: 'SUCCEEDED', status: 'SUCCEEDED', attempts: 1,
    environment: { faults: { throttleShare: 0.3, operations: READS, seed: 30 }, functionEnv: { AWS_MAX_ATTEMPTS: '1' } },
    run: (env) => env.run('run-transient', transient('throttle-30', twoSteps)) },
  { fault: 'EMR throttles 90 % of reads, sustained (the reference run, SDK retries off)', outcome: 'SUCCEEDED (failed checks wait and check again)', status: 'SUCCEEDED', attempts: 1,
    environment: { faults: { throttleShare: 0.9, operations: READS, seed: 90 }, functionEnv: { AWS_MAX_ATTEMPTS: '1' } },
    run: (env) => env.run('run-transient', transient('throttle-90', referenceSteps)) },
  { fault: 'EMR answers 5xx with an error code on 30 % of reads', outcome: 'SUCCEEDED', status: 'SUCCEEDED', attempts: 1,
    environment: { faults: { serverErrorShare: 0.3, serverErrorStatus: 500, operations: READS, seed: 5 }, functionEnv: { AWS_MAX_ATTEMPTS: '1' } },
    run: (env) => env.run('run-transient', transient('5xx-coded', twoSteps)) },
  { fault: 'a load balancer answers 502 without an error code on 30 % of reads', outcome: 'SUCCEEDED', status: 'SUCCEEDED', attempts: 1,
    environment: { faults: { serverErrorShare: 0.3, serverErrorStatus: 502, serverErrorWithoutCode: true, operations: READS, seed: 6 }, functionEnv: { AWS_MAX_ATTEMPTS: '1' } },
    run: (env) => env.run('run-transient', transient('5xx-bare', twoSteps)) },
  { fault: 'the answer to RunJobFlow is lost', outcome: 'SUCCEEDED with one cluster', status: 'SUCCEEDED', attempts: 1,
    environment: { faults: { lostResponses: { RunJobFlow: 1 } } },
    run: (env) => env.run('run-transient', transient('lost-launch', twoSteps)) },
  { fault: 'the answer to AddJobFlowSteps is lost (run)', outcome: 'SUCCEEDED with the steps queued once', status: 'SUCCEEDED', attempts: 0, keepsUp: true,
    run: async (env) => {
      const clusterId = await upCluster_(env, 'lost-steps');
      await env.emulator.setFaults({ lostResponses: { AddJobFlowSteps: 1 } });
      const report = await env.run('run', runInput(clusterId, twoSteps));
      assert.equal((await env.clusters()).find((c) => c.Id === clusterId).Steps.length, 2, 'queued once');
      return report;
    } },
  { fault: 'the answer to TerminateJobFlows is lost (down)', outcome: 'SUCCEEDED, cluster terminated', status: 'SUCCEEDED', attempts: 0,
    run: async (env) => {
      const clusterId = await upCluster_(env, 'lost-down');
      await env.emulator.setFaults({ lostResponses: { TerminateJobFlows: 1 } });
      return env.run('down', { clusterId });
    } },
  { fault: 'an instance fails mid-run', outcome: 'FAILED ClusterFailed', status: 'FAILED', error: 'ClusterFailed', attempts: 1,
    environment: { scenario: { clusters: [{ match: { name: clusterNameFor('instance') }, instanceFailureAfterSeconds: 900 }] } },
    run: (env) => env.run('run-transient', transient('instance', twoSteps)) },
  { fault: 'someone terminates the cluster by hand mid-run', outcome: 'FAILED ClusterFailed', status: 'FAILED', error: 'ClusterFailed', attempts: 1,
    run: (env) => env.run('run-transient', transient('by-hand', [step('Long', { seconds: 7200 })]), byHand(completion, 'TerminateJobFlows', (id) => ({ JobFlowIds: [id] }))) },
  { fault: 'someone cancels a step by hand', outcome: 'FAILED StepFailed, cluster terminated', status: 'FAILED', error: 'StepFailed', attempts: 1,
    run: (env) =>
      env.run(
        'run-transient',
        transient('cancel-step', [step('Long', { seconds: 7200 }), step('Next', { seconds: 7200 })]),
        byHand(completion, 'CancelSteps', (id, clusters) => ({ ClusterId: id, StepIds: [clusters.find((c) => c.Id === id).Steps.at(-1).Id] })),
      ) },
  { fault: 'the cluster is stuck starting', outcome: 'FAILED Timeout, cluster terminated', status: 'FAILED', error: 'Timeout', attempts: 1,
    environment: { scenario: { clusters: [{ match: { name: clusterNameFor('stuck') }, bootstrapSeconds: 864000 }] } },
    run: (env) => env.run('run-transient', transient('stuck', twoSteps, { maxStartupChecks: 20, startupTimeoutSeconds: 1800 })) },
  { fault: 'check-status fails with Lambda.Unknown once', outcome: 'SUCCEEDED', status: 'SUCCEEDED', attempts: 1,
    run: (env) => env.run('run-transient', transient('unknown-once', twoSteps), { inject: ({ fn, attempt }) => fn === 'check-status' && attempt === 3 && unhandled('Lambda.Unknown')() }) },
  { fault: 'check-status fails with Lambda.Unknown on every call', outcome: 'FAILED StatusUnknown, cluster terminated', status: 'FAILED', error: 'StatusUnknown', attempts: 1,
    run: (env) => env.run('run-transient', transient('unknown-always', [step('Long', { seconds: 86400 })]), { inject: ({ fn, attempt }) => fn === 'check-status' && attempt >= 2 && unhandled('Lambda.Unknown')() }) },
  { fault: 'launch-cluster times out after RunJobFlow took effect (Sandbox.Timedout once)', outcome: 'SUCCEEDED with one cluster', status: 'SUCCEEDED', attempts: 1,
    run: (env) => env.run('run-transient', transient('timedout-once', twoSteps), { injectAfter: ({ fn, attempt }) => fn === 'launch-cluster' && attempt === 1 && unhandled('Sandbox.Timedout')() }) },
  { fault: 'check-status times out on every call (Sandbox.Timedout)', outcome: 'FAILED StatusUnknown, cluster terminated', status: 'FAILED', error: 'StatusUnknown', attempts: 1,
    run: (env) => env.run('run-transient', transient('timedout-always', [step('Long', { seconds: 86400 })]), { inject: ({ fn, attempt }) => fn === 'check-status' && attempt >= 2 && unhandled('Sandbox.Timedout')() }) },
  { fault: 'the execution is stopped while RunJobFlow is in flight', outcome: 'ABORTED; the cleanup finds the late cluster and terminates it', status: 'ABORTED', attempts: 1,
    environment: { faults: { latencyMs: 1000, latencyOperations: ['RunJobFlow'] } },
    run: (env) => env.run('run-transient', transient('stop-launch', twoSteps), { stopWhen: ({ fn }) => fn === 'launch-cluster' }) },
  { fault: 'the execution is stopped during the steps', outcome: 'ABORTED; the cleanup terminates the cluster', status: 'ABORTED', attempts: 1,
    run: (env) => env.run('run-transient', transient('stop-steps', [step('Long', { seconds: 7200 })]), { stopWhen: ({ fn, attempt }) => fn === 'check-status' && attempt === duringSteps }) },
  { fault: 'the execution times out', outcome: 'TIMED_OUT; the cleanup terminates the cluster', status: 'TIMED_OUT', attempts: 1,
    run: (env) => {
      const definition = { ...loadDefinition('run-transient'), TimeoutSeconds: 7200 };
      return env.run('run-transient', transient('timeout', [step('Long', { seconds: 86400 })]), { definition });
    } },
  { fault: 'the execution is stopped during the steps, its end event lost', outcome: 'ABORTED; the reconciler terminates the cluster at its next sweep', status: 'ABORTED', attempts: 1,
    environment: { reconciler: true },
    run: (env) => env.run('run-transient', transient('stop-lost', [step('Long', { seconds: 7200 })]), {
      stopWhen: ({ fn, attempt }) => fn === 'check-status' && attempt === duringSteps,
      lostEvents: ['terminate-cluster', 'lock'],
    }) },
  { fault: 'up is stopped while its cluster starts, its end event lost', outcome: 'ABORTED; the reconciler terminates the cluster at its next sweep', status: 'ABORTED', attempts: 1,
    environment: { reconciler: true },
    run: (env) => env.run('up', { cluster: sparkClusterText, vars: varsFor('up-stop-lost'), options: { completion } }, {
      stopWhen: ({ fn }) => fn === 'check-status',
      lostEvents: ['terminate-cluster', 'lock'],
    }) },
  { fault: 'the execution times out, its end event lost', outcome: 'TIMED_OUT; the reconciler terminates the cluster at its next sweep', status: 'TIMED_OUT', attempts: 1,
    environment: { reconciler: true },
    run: (env) => {
      const definition = { ...loadDefinition('run-transient'), TimeoutSeconds: 7200 };
      return env.run('run-transient', transient('timeout-lost', [step('Long', { seconds: 86400 })]), { definition, lostEvents: ['terminate-cluster', 'lock'] });
    } },
  { fault: 'every EMR event is lost (the reference run)', outcome: 'SUCCEEDED; waiting for events, the reconciler answers the wait at its next sweep', status: 'SUCCEEDED', attempts: 1,
    environment: { reconciler: true, faults: { events: { dropRate: 1 } } },
    run: (env) => env.run('run-transient', transient('events-lost', referenceSteps)) },
  { fault: 'redrive after a stop: every state runs again', outcome: 'FAILED ClusterFailed (the stopped run\'s cluster was cleaned up); no second cluster', status: 'FAILED', error: 'ClusterFailed', attempts: 1,
    run: async (env) => {
      const input = transient('redrive', [step('Long', { seconds: 7200 })]);
      const first = await env.run('run-transient', input, { name: 'nightly-redrive', stopWhen: ({ fn, attempt }) => fn === 'check-status' && attempt === 3 });
      assert.equal(first.status, 'ABORTED', explain(first));
      return env.run('run-transient', input, { name: 'nightly-redrive' });
    } },
  { fault: 'two executions with the same name in two state machines (up, run-transient)', outcome: 'SUCCEEDED, each with its own cluster', status: 'SUCCEEDED', attempts: 1,
    run: async (env) => {
      const up = await env.run('up', { cluster: sparkClusterText, vars: varsFor('same-name'), options: { completion } }, { name: 'nightly' });
      assert.equal(up.status, 'SUCCEEDED', explain(up));
      const report = await env.run('run-transient', transient('same-name', twoSteps), { name: 'nightly' });
      assert.notEqual(report.output?.clusterId, up.output.clusterId, 'not adopted');
      return report;
    } },
  ...serverlessRows(),
  ];
}

/** The first add-steps invocation that started a job run (an earlier one may find the application not ready). */
function firstStart() {
  let done = false;
  return ({ fn, output }) => {
    if (fn !== 'add-steps' || !output?.jobRunId || done) return undefined;
    done = true;
    return unhandled('Sandbox.Timedout')();
  };
}

/** The invocations of `fn` in a run that failed with `error`. */
const failures = (report, fn, error) => report.invocations.filter((i) => i.fn === fn && i.error?.name === error).length;

/**
 * The same faults on EMR Serverless (serverless-run-transient; `serverless: true`): `applications` created, each
 * deleted, `jobRuns` started in all; `check(env, report, apps)` asserts the row's own. Completion is polled there
 * whatever the mode, so these rows run once.
 */
function serverlessRows() {
  const run = (env, name, steps, options) => env.run('serverless-run-transient', serverlessInput(name, steps), options);
  return [
  { fault: 'check-status fails with Lambda.Unknown once (serverless)', outcome: 'SUCCEEDED', status: 'SUCCEEDED', serverless: true, applications: 1, jobRuns: 2,
    run: (env) => run(env, 'sls-unknown-once', twoSteps, { inject: ({ fn, attempt }) => fn === 'check-status' && attempt === 2 && unhandled('Lambda.Unknown')() }),
    check: (env, report) => assert.equal(failures(report, 'check-status', 'Lambda.Unknown'), 1) },
  { fault: 'check-status fails with Lambda.Unknown on every call (serverless)', outcome: 'FAILED StatusUnknown, the job run cancelled, application deleted', status: 'FAILED', error: 'StatusUnknown', serverless: true, applications: 1, jobRuns: 1,
    run: (env) => run(env, 'sls-unknown-always', [step('Long', { seconds: 86400 })], { inject: ({ fn }) => fn === 'check-status' && unhandled('Lambda.Unknown')() }),
    check: (env, report, [app]) => {
      assert.equal(app.jobRuns[0].state, 'CANCELLED');
      assert.equal(report.causeJson.jobRunId, app.jobRuns[0].jobRunId);
      assert.equal(report.causeJson.error, 'Lambda.Unknown');
      assert.equal(report.causeJson.failedChecks, 10);
      assert.equal(failures(report, 'check-status', 'Lambda.Unknown'), 90, 'options.maxFailedChecks checks, each the first call and its 8 retries');
    } },
  { fault: 'add-steps times out after StartJobRun took effect (Sandbox.Timedout once, serverless)', outcome: 'SUCCEEDED with one job run', status: 'SUCCEEDED', serverless: true, applications: 1, jobRuns: 1,
    run: (env) => run(env, 'sls-start-timedout', [step('Enrich')], { injectAfter: firstStart() }),
    check: (env, report) => {
      assert.equal(failures(report, 'add-steps', 'Sandbox.Timedout'), 1);
      assert.equal(report.emrCalls.operations.StartJobRun.succeeded, 2, 'started twice, with one client token');
    } },
  { fault: 'EMR Serverless throttles StartJobRun (SDK retries off, serverless)', outcome: 'SUCCEEDED with one job run', status: 'SUCCEEDED', serverless: true, applications: 1, jobRuns: 1,
    environment: { faults: { throttleShare: 0.5, operations: ['StartJobRun'], seed: 3 }, functionEnv: { AWS_MAX_ATTEMPTS: '1' } },
    run: (env) => run(env, 'sls-throttled', [step('Enrich')]),
    check: (env, report) => {
      assert.ok(report.emrCalls.operations.StartJobRun.throttled >= 1, JSON.stringify(report.emrCalls.operations.StartJobRun));
      assert.equal(failures(report, 'add-steps', 'EmrThrottled'), report.emrCalls.operations.StartJobRun.throttled, 'each throttled start failed as EmrThrottled, retried');
    } },
  { fault: 'launch-cluster times out after CreateApplication took effect (Sandbox.Timedout once, serverless)', outcome: 'SUCCEEDED with one application', status: 'SUCCEEDED', serverless: true, applications: 1, jobRuns: 2,
    run: (env) => run(env, 'sls-launch-timedout', twoSteps, { injectAfter: ({ fn, attempt }) => fn === 'launch-cluster' && attempt === 1 && unhandled('Sandbox.Timedout')() }),
    check: (env, report) => assert.equal(report.emrCalls.operations.CreateApplication.succeeded, 2, 'created twice, with one client token') },
  { fault: 'the cleanup fails with Lambda.Unknown once (serverless)', outcome: 'SUCCEEDED, application deleted', status: 'SUCCEEDED', serverless: true, applications: 1, jobRuns: 2,
    run: (env) => run(env, 'sls-cleanup-once', twoSteps, { inject: ({ fn, attempt }) => fn === 'terminate-cluster' && attempt === 1 && unhandled('Lambda.Unknown')() }),
    check: (env, report) => assert.equal(failures(report, 'terminate-cluster', 'Lambda.Unknown'), 1) },
  ];
}

export const MATRIX = matrix('events');

/** A serverless row: its end, the applications it created (each deleted, its job runs ended), no cluster. */
async function judgeServerless(env, row, report) {
  await env.advance(900);
  const apps = await assertNoApplicationLeft(env, report);
  assert.equal(apps.length, row.applications, `applications: ${apps.map((a) => a.applicationId)}`);
  assert.equal(apps.flatMap((a) => a.jobRuns).length, row.jobRuns, 'job runs');
  assert.deepEqual(await env.clusters(), [], 'no cluster');
  await row.check?.(env, report, apps);
}

for (const completion of MODES) for (const row of matrix(completion)) {
  if (row.serverless && completion !== MODES[0]) continue;
  test(row.serverless ? `fault: ${row.fault}` : `fault (${completion}): ${row.fault}`, async () => {
    await withEnvironment(row.environment ?? {}, async (env) => {
      const report = await row.run(env);
      assert.equal(report.status, row.status, explain(report));
      assert.equal(report.error, row.error, explain(report));
      if (row.serverless) return judgeServerless(env, row, report);
      // Let what is ending end (TERMINATING → TERMINATED) before counting what is left.
      await env.advance(900);
      const { clusters, byAttempt } = await launchedBy(env, report);
      assert.equal(Object.keys(byAttempt).length, row.attempts, `launch attempts: ${JSON.stringify(byAttempt)}`);
      for (const [attempt, ids] of Object.entries(byAttempt)) assert.equal(ids.length, 1, `never two clusters for ${attempt}: ${ids}`);
      assert.equal(clusters.length, row.attempts);
      await assertNothingLeftRunning(env, report);
      if (report.cleanup?.error) assert.fail(`the cleanup failed: ${JSON.stringify(report.cleanup.error)}`);
      const all = await env.clusters();
      const running = all.filter((c) => ACTIVE.includes(c.Status.State));
      assert.equal(running.length, row.keepsUp ? 1 : 0, `clusters still running: ${running.map((c) => `${c.Id} ${c.Status.State}`)}`);
    });
  });
}

test('statemachine/README.md shows exactly this matrix', () => {
  const readme = readFileSync(join(repoRoot, 'statemachine', 'README.md'), 'utf8');
  const section = readme.split('## Fault matrix')[1]?.split('\n## ')[0];
  assert.ok(section, 'a "## Fault matrix" section');
  const rows = section
    .split('\n')
    .filter((l) => l.startsWith('| ') && !l.startsWith('| fault') && !l.startsWith('|---'))
    .map((l) => l.split(' | ').map((c) => c.replace(/^\| |\s*\|$/g, '').trim()));
  assert.deepEqual(rows, MATRIX.map((r) => [r.fault, r.outcome]));
  assert.ok(MATRIX.length >= 20);
});
