// up, run and down, end to end, on one long-running cluster.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../lib/paths.mjs';
import {
  assertNothingLeftRunning,
  clusterById,
  clusterNameFor,
  explain,
  path,
  playbook,
  sparkClusterText,
  sparkPlaybookText,
  sparkVars,
  step,
  varsFor,
  withEnvironment,
} from './support.mjs';

/** A cluster someone else in the account launched (no Dataflow Runner tags). */
async function foreignCluster(env, region) {
  const { JobFlowId } = await env.emrAsOperator(
    'RunJobFlow',
    {
      Name: 'someone-elses-cluster',
      ReleaseLabel: 'emr-7.5.0',
      Instances: {
        KeepJobFlowAliveWhenNoSteps: true,
        InstanceGroups: [{ Name: 'Master', InstanceRole: 'MASTER', InstanceType: 'm5.xlarge', InstanceCount: 1, Market: 'ON_DEMAND' }],
      },
      JobFlowRole: 'EMR_EC2_DefaultRole',
      ServiceRole: 'EMR_DefaultRole',
    },
    region,
  );
  return JobFlowId;
}

test('up → run → down: the cluster comes up, runs the playbook, stays up, then is terminated', async () => {
  await withEnvironment({}, async (env) => {
    const up = await env.run('up', { cluster: sparkClusterText, vars: varsFor('shared') });
    assert.equal(up.status, 'SUCCEEDED', explain(up));
    const { clusterId } = up.output;
    assert.match(clusterId, /^j-/);
    assert.equal(up.output.clusterName, clusterNameFor('shared'));
    assert.ok(['RUNNING', 'WAITING'].includes(up.output.clusterState));
    assert.equal((await clusterById(env, clusterId)).AutoTerminate, false, 'a long-running cluster');

    const run = await env.run('run', { clusterId, playbook: sparkPlaybookText, vars: sparkVars });
    assert.equal(run.status, 'SUCCEEDED', explain(run));
    assert.equal(run.output.clusterId, clusterId);
    assert.deepEqual(
      run.output.steps.map((s) => [s.name.replace(/ \[run [0-9a-f]+\]$/, ''), s.state]),
      [
        ['Stage raw events', 'COMPLETED'],
        ['Enrich with Spark', 'COMPLETED'],
        ['Archive raw events', 'COMPLETED'],
      ],
    );
    assert.ok(run.output.steps.every((s) => s.durationSeconds === 600));
    assert.equal((await clusterById(env, clusterId)).Status.State, 'WAITING', 'run never terminates the cluster');
    assert.equal(run.emrCalls.operations.TerminateJobFlows, undefined);

    const down = await env.run('down', { clusterId });
    assert.equal(down.status, 'SUCCEEDED', explain(down));
    assert.equal(down.output.clusterId, clusterId);
    assert.equal(down.output.clusterState, 'TERMINATED');
    assert.equal(down.output.reason.code, 'USER_REQUEST');
    await assertNothingLeftRunning(env, up);

    // down again: already terminated, still a success (TerminateJobFlows is not sent twice).
    const again = await env.run('down', { clusterId });
    assert.equal(again.status, 'SUCCEEDED', explain(again));
    assert.deepEqual(again.output.alreadyTerminated, [clusterId]);
    assert.equal(again.emrCalls.operations.TerminateJobFlows, undefined);
  });
});

test('run: a FAILED step (and the CANCELLED ones after it) fail the run; the cluster is left up', async () => {
  await withEnvironment({}, async (env) => {
    const up = await env.run('up', { cluster: sparkClusterText, vars: varsFor('run-fails') });
    const { clusterId } = up.output;
    const steps = [step('Load'), step('Shred', { fail: true, reason: 'java.io.IOException', message: 'No space left on device' }), step('Report')];
    const run = await env.run('run', { clusterId, playbook: playbook(steps) });
    assert.equal(run.status, 'FAILED', explain(run));
    assert.equal(run.error, 'StepFailed');
    assert.equal(run.causeJson.clusterId, clusterId);
    const byName = Object.fromEntries(run.causeJson.failedSteps.map((s) => [s.name.replace(/ \[run [0-9a-f]+\]$/, ''), s]));
    assert.equal(byName.Shred.state, 'FAILED');
    assert.equal(byName.Shred.failure.message, 'No space left on device');
    assert.match(byName.Shred.failure.logFile, /\/steps\/s-[A-Z0-9]+\/stderr\.gz$/);
    assert.equal(byName.Report.state, 'CANCELLED');
    assert.equal((await clusterById(env, clusterId)).Status.State, 'WAITING', 'the user keeps the cluster');
    assert.equal(run.emrCalls.operations.TerminateJobFlows, undefined);
    await env.run('down', { clusterId });
    await assertNothingLeftRunning(env, up);
  });
});

test('run: the cluster dying under the steps (INTERRUPTED) is ClusterFailed', async () => {
  const name = clusterNameFor('run-dies');
  await withEnvironment({ scenario: { clusters: [{ match: { name }, instanceFailureAfterSeconds: 1200 }] } }, async (env) => {
    const up = await env.run('up', { cluster: sparkClusterText, vars: varsFor('run-dies') });
    const run = await env.run('run', { clusterId: up.output.clusterId, playbook: playbook([step('Long', { seconds: 7200 })]) });
    assert.equal(run.status, 'FAILED', explain(run));
    assert.equal(run.error, 'ClusterFailed');
    assert.equal(run.causeJson.failedSteps[0].state, 'INTERRUPTED');
    await assertNothingLeftRunning(env, up);
  });
});

test('run with options.async: ends once EMR accepted the steps; a second run of the same execution adds nothing', async () => {
  await withEnvironment({}, async (env) => {
    const up = await env.run('up', { cluster: sparkClusterText, vars: varsFor('async') });
    const { clusterId } = up.output;
    const input = { clusterId, playbook: playbook([step('One'), step('Two')]), options: { async: true } };
    const run = await env.run('run', input, { name: 'nightly-async' });
    assert.equal(run.status, 'SUCCEEDED', explain(run));
    assert.equal(run.output.async, true);
    assert.equal(run.output.stepIds.length, 2);
    assert.equal(run.metrics.polls, 0);
    // The same execution name again (a redrive, or the same schedule tick): the steps are found, not re-added.
    const again = await env.run('run', input, { name: 'nightly-async' });
    assert.deepEqual(again.output.stepIds, run.output.stepIds);
    assert.equal(again.emrCalls.operations.AddJobFlowSteps, undefined);
    assert.equal((await clusterById(env, clusterId)).Steps.length, 2);
    await env.run('down', { clusterId });
    await assertNothingLeftRunning(env, up);
  });
});

test('run on a terminated cluster: ClusterNotActive, nothing added', async () => {
  await withEnvironment({}, async (env) => {
    const up = await env.run('up', { cluster: sparkClusterText, vars: varsFor('gone') });
    const { clusterId } = up.output;
    await env.run('down', { clusterId });
    const run = await env.run('run', { clusterId, playbook: playbook([step('Late')]) });
    assert.equal(run.status, 'FAILED', explain(run));
    assert.equal(run.error, 'ClusterNotActive');
    assert.equal(run.causeJson.clusterId, clusterId);
    assert.equal(run.emrCalls.operations.AddJobFlowSteps, undefined);
  });
});

test('up: a bootstrap failure is relaunched; a cluster that fails to start is ClusterFailed', async () => {
  await withEnvironment(
    {
      scenario: {
        clusters: [
          { match: { name: clusterNameFor('up-flaky') }, bootstrapFailures: 1 },
          { match: { name: clusterNameFor('up-bad-subnet') }, startupFailure: { code: 'VALIDATION_ERROR', message: 'The subnet does not exist.' } },
        ],
      },
    },
    async (env) => {
      const flaky = await env.run('up', { cluster: sparkClusterText, vars: varsFor('up-flaky') });
      assert.equal(flaky.status, 'SUCCEEDED', explain(flaky));
      assert.equal(flaky.output.launchAttempts, 2);

      const bad = await env.run('up', { cluster: sparkClusterText, vars: varsFor('up-bad-subnet') });
      assert.equal(bad.status, 'FAILED', explain(bad));
      assert.equal(bad.error, 'ClusterFailed');
      assert.equal(bad.causeJson.reason.code, 'VALIDATION_ERROR');
      assert.equal(bad.causeJson.reason.message, 'The subnet does not exist.');
      await assertNothingLeftRunning(env, bad);
      await env.run('down', { clusterId: flaky.output.clusterId });
      await assertNothingLeftRunning(env, flaky);
    },
  );
});

test('up: a launch stuck in BOOTSTRAPPING times out, polled or waiting for events, with the cost so far in its Cause, and the cluster is terminated', async () => {
  for (const completion of ['poll', 'events']) {
    const name = clusterNameFor(`up-stuck-${completion}`);
    await withEnvironment({ scenario: { clusters: [{ match: { name }, bootstrapSeconds: 86400 }] } }, async (env) => {
      const options = { maxStartupChecks: 30, startupTimeoutSeconds: 1800, completion };
      const up = await env.run('up', { cluster: sparkClusterText, vars: varsFor(`up-stuck-${completion}`), options });
      assert.equal(up.status, 'FAILED', explain(up));
      assert.equal(up.error, 'Timeout');
      if (completion === 'poll') assert.equal(up.causeJson.checks, 30, 'polled: at the maxStartupChecks-th check');
      // What the seven instances cost while the cluster started, read by the check that timed it out.
      const { cost } = up.causeJson;
      assert.ok(cost && cost.final === false, JSON.stringify(cost));
      assert.deepEqual(cost.byInstanceType.reduce((n, l) => n + l.instances, 0), 7, JSON.stringify(cost));
      assert.ok(cost.billedSeconds > 0 && cost.billedSeconds <= 7 * up.virtualSeconds, `${cost.billedSeconds} s in ${up.virtualSeconds} s`);
      assert.ok(cost.usd > 0, JSON.stringify(cost));
      assert.ok(path(up).includes('Terminate the cluster'));
      await assertNothingLeftRunning(env, up);
    });
  }
});

test('down: a cluster Dataflow Runner did not launch is refused; options.force is refused by IAM unless the stack allows it', async () => {
  await withEnvironment({}, async (env) => {
    const clusterId = await foreignCluster(env);
    const refused = await env.run('down', { clusterId });
    assert.equal(refused.status, 'FAILED', explain(refused));
    assert.equal(refused.error, 'ClusterNotManaged');
    assert.equal(refused.causeJson.clusterId, clusterId);
    const denied = await env.run('down', { clusterId, options: { force: true } });
    assert.equal(denied.status, 'FAILED', explain(denied));
    assert.equal(denied.error, 'AccessDenied');
    assert.match(denied.cause, /elasticmapreduce:TerminateJobFlows/);
    assert.equal((await clusterById(env, clusterId)).Status.State === 'TERMINATED', false);
  });
  await withEnvironment({ parameters: { AllowForceDown: 'true' } }, async (env) => {
    const clusterId = await foreignCluster(env);
    const forced = await env.run('down', { clusterId, options: { force: true } });
    assert.equal(forced.status, 'SUCCEEDED', explain(forced));
    assert.equal(forced.output.clusterState, 'TERMINATED');
  });
});

test('down: an unknown cluster is ClusterNotFound', async () => {
  await withEnvironment({}, async (env) => {
    const report = await env.run('down', { clusterId: 'j-NOSUCHCLUSTER1' });
    assert.equal(report.status, 'FAILED', explain(report));
    assert.equal(report.error, 'ClusterNotFound');
    assert.equal(report.causeJson.clusterId, 'j-NOSUCHCLUSTER1');
  });
});

test('redrive safety: up → run → down with every Task run twice gives the same outcome', async () => {
  await withEnvironment({}, async (env) => {
    const twice = { repeatTasks: true };
    const up = await env.run('up', { cluster: sparkClusterText, vars: varsFor('twice') }, twice);
    assert.equal(up.status, 'SUCCEEDED', explain(up));
    assert.equal((await env.clusters()).length, 1, 'one cluster');
    const { clusterId } = up.output;
    const run = await env.run('run', { clusterId, playbook: playbook([step('One'), step('Two')]) }, twice);
    assert.equal(run.status, 'SUCCEEDED', explain(run));
    assert.equal((await clusterById(env, clusterId)).Steps.length, 2, 'the steps were added once');
    const down = await env.run('down', { clusterId }, twice);
    assert.equal(down.status, 'SUCCEEDED', explain(down));
    assert.equal(down.emrCalls.operations.TerminateJobFlows.calls, 1);
    await assertNothingLeftRunning(env, up);
  });
});

test('down: a cluster stuck terminating fails with Timeout after options.maxChecks checks, inside the one-hour execution timeout', async () => {
  const name = clusterNameFor('stuck-down');
  await withEnvironment({ scenario: { clusters: [{ match: { name }, terminatingSeconds: 86400 }] } }, async (env) => {
    const up = await env.run('up', { cluster: sparkClusterText, vars: varsFor('stuck-down') });
    assert.equal(up.status, 'SUCCEEDED', explain(up));
    const down = await env.run('down', { clusterId: up.output.clusterId });
    assert.equal(down.status, 'FAILED', explain(down));
    assert.equal(down.error, 'Timeout', 'a named failure, not an anonymous TIMED_OUT');
    assert.equal(down.causeJson.checks, 60);
    const { TimeoutSeconds } = JSON.parse(readFileSync(join(repoRoot, 'statemachine', 'down.asl.json'), 'utf8'));
    assert.ok(down.virtualSeconds < TimeoutSeconds, `${down.virtualSeconds} s`);
  });
});
