// The reconciler end to end: the stack's schedule (ReconcileRule, every ReconcileMinutes of virtual time) starts the
// real reconciler binary, which lists clusters (EMR emulator) and their tags (the tagging API the emulator serves),
// asks the local Step Functions endpoint about executions (DescribeExecution) and reads the real wait and lock
// tables, all under the stack's IAM. Every AWS event these tests need lost is lost: the Execution Status Change that
// starts the cleanup and lock rules (run option lostEvents), EMR's events (the emulator's dropRate fault). What the
// issue promises is asserted on what is left: nothing of a run outlives it by more than one sweep period.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { repoRoot } from '../lib/paths.mjs';
import { LOCK_OPERATOR_ACCESS_KEY } from '../lib/stack.mjs';
import { loadDefinition } from '../lib/definitions.mjs';
import { measureReference } from '../lib/reference.mjs';
import { ACTIVE, assertNothingLeftRunning, clusterById, explain, playbook, sparkClusterText, step, varsFor, withEnvironment, withoutStatement } from './support.mjs';

const TEMPLATE = readFileSync(join(repoRoot, 'infra', 'template.yaml'), 'utf8');
/** Both rules an execution's end goes to. */
const ALL_END_EVENTS = ['terminate-cluster', 'lock'];

/** The sweep period the template's default ReconcileMinutes gives, read from the template itself. */
const PERIOD = Number(/ReconcileMinutes:\n\s+Type: Number\n\s+Default: (\d+)/.exec(TEMPLATE)[1]) * 60;

const repairs = (env, kind) => env.sweeps.flatMap((s) => s.output?.[kind] ?? []);

async function lockItem(env, name) {
  const { Item } = await env.locks('GetItem', { Key: { lockName: { S: name } }, ConsistentRead: true }, LOCK_OPERATOR_ACCESS_KEY);
  return Item;
}

/** Lets one sweep period pass after the run, and says when the sweep that repaired `clusterId` came. */
async function oneSweepLater(env) {
  const before = env.sweeps.length;
  await env.advance(PERIOD);
  assert.ok(env.sweeps.length > before, 'a sweep ran within one period');
  return env.sweeps.slice(before);
}

test('the default sweep period is the template\'s, and at most half the shortest default backstop of every machine', () => {
  assert.equal(PERIOD, 300);
  const max = Number(/ReconcileMinutes:[\s\S]*?MaxValue: (\d+)/.exec(TEMPLATE)[1]) * 60;
  for (const machine of ['run-transient', 'up', 'run']) {
    const text = readFileSync(join(repoRoot, 'statemachine', `${machine}.asl.json`), 'utf8');
    const minBackstop = Number(/"minBackstopSeconds": (\d+)/.exec(text)[1]);
    assert.ok(2 * max <= minBackstop, `${machine}: the longest period (${max} s) is at most half its shortest backstop (${minBackstop} s)`);
  }
});

test('a stopped up whose end events are all lost: after one sweep its cluster is terminated and its soft lock released', async () => {
  await withEnvironment({ reconciler: true }, async (env) => {
    const report = await env.run(
      'up',
      { cluster: sparkClusterText, vars: varsFor('lost-up'), lock: { name: 'pipelines/up', kind: 'soft' } },
      { stopWhen: ({ fn }) => fn === 'check-status', lostEvents: ALL_END_EVENTS },
    );
    assert.equal(report.status, 'ABORTED', explain(report));
    assert.equal(report.cleanup, undefined, 'no cleanup event came');
    const [clusterId] = report.launchedClusterIds;
    assert.ok(ACTIVE.includes((await clusterById(env, clusterId)).Status.State), 'left running by the lost event');
    const swept = await oneSweepLater(env);
    assert.ok(swept.every((s) => !s.error), JSON.stringify(swept));
    await assertNothingLeftRunning(env, report);
    const terminated = repairs(env, 'clustersTerminated');
    assert.deepEqual(terminated.map((r) => r.target), [clusterId]);
    assert.equal(terminated[0].execution, report.executionArn);
    assert.match(terminated[0].reason, /ABORTED/);
    assert.equal((await lockItem(env, 'pipelines/up')).state.S, 'released');
    assert.deepEqual(repairs(env, 'locksReleased').map((r) => r.target), ['pipelines/up']);
  });
});

test('a stopped run-transient whose end events are all lost: its cluster is gone and its hard lock kept with the failure after one sweep', async () => {
  await withEnvironment({ reconciler: true }, async (env) => {
    const input = {
      cluster: sparkClusterText,
      playbook: playbook([step('Enrich', { seconds: 4 * 3600 })]),
      vars: varsFor('lost-transient'),
      lock: { name: 'pipelines/enrich' },
    };
    // Stopped once the steps run: the cluster would run four more hours.
    const report = await env.run('run-transient', input, {
      stopWhen: ({ fn, attempt }) => fn === 'check-status' && attempt >= 1,
      lostEvents: ALL_END_EVENTS,
    });
    assert.equal(report.status, 'ABORTED', explain(report));
    await oneSweepLater(env);
    await assertNothingLeftRunning(env, report);
    const lock = await lockItem(env, 'pipelines/enrich');
    assert.equal(lock.state.S, 'failed', 'a hard lock is kept after a failure, as the lock rule would keep it');
    assert.match(JSON.stringify(lock), /ABORTED/);
    assert.deepEqual(repairs(env, 'locksKept').map((r) => r.target), ['pipelines/enrich']);
  });
});

test('a locked run that times out, its lock event lost: after one sweep the hard lock is kept with the timeout recorded', async () => {
  await withEnvironment({ reconciler: true }, async (env) => {
    const up = await env.run('up', { cluster: sparkClusterText, vars: varsFor('lost-run') });
    assert.equal(up.status, 'SUCCEEDED', explain(up));
    // The state machine's own TimeoutSeconds (here 30 minutes) ends the execution TIMED_OUT: none of its states run.
    const definition = { ...loadDefinition('run'), TimeoutSeconds: 1800 };
    const run = await env.run(
      'run',
      { clusterId: up.output.clusterId, playbook: playbook([step('Long', { seconds: 4 * 3600 })]), lock: { name: 'pipelines/run' } },
      { definition, lostEvents: ALL_END_EVENTS },
    );
    assert.equal(run.status, 'TIMED_OUT', explain(run));
    assert.equal((await lockItem(env, 'pipelines/run')).state.S, 'held', 'nothing ended the lock');
    await oneSweepLater(env);
    const lock = await lockItem(env, 'pipelines/run');
    assert.equal(lock.state.S, 'failed');
    assert.match(JSON.stringify(lock), /TIMED_OUT/);
    assert.deepEqual(repairs(env, 'locksKept').map((r) => r.execution), [run.executionArn]);
  });
});

test('every EMR event lost: the reference run is reported within one sweep period, not at its backstop', async () => {
  await withEnvironment({ reconciler: true, faults: { events: { dropRate: 1 } } }, async (env) => {
    const m = await measureReference(env, 'events-lost-reconciled');
    assert.equal(m.report.eventDeliveries.length, 0, 'nothing delivered');
    assert.ok(m.detectionLatencySeconds <= PERIOD, `found ${m.detectionLatencySeconds} s after the cluster ended`);
    const last = m.report.callbackWaits.at(-1);
    assert.equal(last.answeredBy, 'reconciler');
    assert.ok(m.stateTransitions <= 20, `${m.stateTransitions} transitions`);
    assert.ok(repairs(env, 'waitsAnswered').length >= 1);
    await assertNothingLeftRunning(env, m.report);
  });
});

test('a run in a second region, whose EMR events never reach the stack\'s rules: reported within one sweep period', async () => {
  await withEnvironment({ reconciler: true }, async (env) => {
    const vars = { ...varsFor('second-region'), region: 'us-east-1' };
    const report = await env.run('run-transient', { cluster: sparkClusterText, playbook: playbook([step('Enrich', { seconds: 1800 })]), vars });
    assert.equal(report.status, 'SUCCEEDED', explain(report));
    assert.equal(report.eventDeliveries.length, 0, 'rules are regional: no us-east-1 event reached the stack');
    const clusterInfo = await clusterById(env, report.output.clusterId);
    assert.equal(clusterInfo.ClusterArn.split(':')[3], 'us-east-1');
    const stepEnd = Math.max(...clusterInfo.Steps.map((s) => s.Status.Timeline.EndDateTime));
    const runEnd = report.invocations[0].virtualTime - report.invocations[0].at + report.virtualSeconds;
    assert.ok(runEnd - stepEnd <= PERIOD, `found ${runEnd - stepEnd} s after its step ended`);
    assert.equal(report.callbackWaits.at(-1).answeredBy, 'reconciler');
  });
});

test('the reconciler and the cleanup rule at the same moment: one termination, no error on either side', async () => {
  await withEnvironment({ reconciler: false }, async (env) => {
    const report = await env.run('up', { cluster: sparkClusterText, vars: varsFor('race') }, {
      stopWhen: ({ fn }) => fn === 'check-status',
      lostEvents: ALL_END_EVENTS,
    });
    const [clusterId] = report.launchedClusterIds;
    await env.emulator.admin('POST', 'requests/reset');
    const [cleanup, sweep] = await Promise.all([
      env.executionEnded(
        { machine: 'up', executionArn: report.executionArn, name: report.name, status: 'ABORTED' },
        { startedAt: Date.now() / 1000 - 60, stoppedAt: Date.now() },
      ),
      env.sweep(),
    ]);
    assert.equal(cleanup['terminate-cluster'].error, undefined, JSON.stringify(cleanup));
    assert.equal(sweep.error, undefined, JSON.stringify(sweep));
    await env.advance(600);
    const c = await clusterById(env, clusterId);
    assert.equal(c.Status.State, 'TERMINATED');
    const terminations = (await env.emulator.requests()).filter((r) => r.operation === 'TerminateJobFlows' && r.status === 200);
    assert.ok(terminations.length >= 1 && terminations.length <= 2, `${terminations.length} TerminateJobFlows`);
    assert.equal(c.Status.StateChangeReason.Code, 'USER_REQUEST', 'terminated once, on request');
  });
});

test('foreign clusters, a handed-over up and a cluster kept after a failure are left alone, and cost no DescribeCluster', async () => {
  await withEnvironment({ reconciler: true }, async (env) => {
    const foreign = await env.emrAsOperator('RunJobFlow', {
      Name: 'someone-else',
      ReleaseLabel: 'emr-7.5.0',
      Instances: { KeepJobFlowAliveWhenNoSteps: true, InstanceGroups: [{ InstanceRole: 'MASTER', InstanceType: 'm5.xlarge', InstanceCount: 1 }] },
      JobFlowRole: 'EMR_EC2_DefaultRole',
      ServiceRole: 'EMR_DefaultRole',
      Tags: [
        { Key: 'dataflow-runner:managed', Value: 'true' },
        { Key: 'dataflow-runner:execution', Value: 'arn:aws:states:eu-west-1:123456789012:execution:another-stack-up:x' },
      ],
    });
    const up = await env.run('up', { cluster: sparkClusterText, vars: varsFor('handed') }, { lostEvents: ALL_END_EVENTS });
    assert.equal(up.status, 'SUCCEEDED', explain(up));
    // An up that fails while its cluster still starts (startupTimeoutSeconds below the emulator's 8-minute start),
    // asking to keep the cluster for debugging.
    const kept = await env.run(
      'up',
      { cluster: sparkClusterText, vars: varsFor('kept'), options: { keepClusterOnFailure: true, startupTimeoutSeconds: 300 } },
      { lostEvents: ALL_END_EVENTS },
    );
    assert.equal(kept.status, 'FAILED', explain(kept));
    assert.equal(kept.error, 'Timeout');
    await env.emulator.admin('POST', 'requests/reset');
    await env.advance(3 * PERIOD);
    for (const id of [foreign.JobFlowId, up.output.clusterId, ...kept.launchedClusterIds]) {
      assert.ok(ACTIVE.includes((await clusterById(env, id)).Status.State), `${id} still running`);
    }
    assert.deepEqual(repairs(env, 'clustersTerminated'), []);
    const calls = (await env.emulator.requests()).filter((r) => r.accessKeyId === 'AKIDRECONCILER');
    // EMR Serverless's ListApplications too (no application here, so no GetApplication).
    assert.deepEqual([...new Set(calls.map((r) => r.operation))].sort(), ['GetResources', 'ListApplications', 'ListClusters']);
  });
});

test('the deployed IAM holds: without tag:GetResources the sweep fails naming the action, and repairs no cluster', async () => {
  await withEnvironment({ template: withoutStatement(TEMPLATE, 'FindManagedClustersByTag') }, async (env) => {
    const sweep = await env.sweep();
    assert.equal(sweep.error?.name, 'EmrUnavailable', JSON.stringify(sweep));
    assert.match(sweep.error.message, /tag:GetResources/);
  });
});
