// run-transient, end to end: statemachine/run-transient.asl.json in aws-local-stepfunctions, every
// Task invoking the real Lambda binary, which talks to the EMR emulator.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FunctionError } from '../lib/harness.mjs';
import { examplesDir } from '../lib/paths.mjs';
import {
  assertNothingLeftRunning,
  clusterById,
  clusterNameFor,
  explain,
  path,
  playbook,
  sparkClusterText,
  sparkPlaybookText,
  step,
  varsFor,
  withEnvironment,
} from './support.mjs';

function input(env, steps, options) {
  return { cluster: sparkClusterText, playbook: playbook(steps), vars: varsFor(env), ...(options ? { options } : {}) };
}

function assertStepOutcome(s) {
  assert.match(s.id, /^s-[A-Z0-9]+$/);
  assert.ok(s.name);
  for (const field of ['state', 'start', 'end', 'durationSeconds']) assert.ok(field in s, `step outcome has ${field}`);
}

test('one step: succeeds and reports the cluster and the step', async () => {
  await withEnvironment({}, async (env) => {
    const report = await env.run('run-transient', input('one', [step('Enrich', { seconds: 900 })]));
    assert.equal(report.status, 'SUCCEEDED', explain(report));
    const out = report.output;
    assert.match(out.clusterId, /^j-/);
    assert.equal(out.clusterName, clusterNameFor('one'));
    assert.equal(out.launchAttempts, 1);
    assert.equal(out.steps.length, 1);
    assertStepOutcome(out.steps[0]);
    assert.equal(out.steps[0].name, 'Enrich');
    assert.equal(out.steps[0].state, 'COMPLETED');
    assert.equal(out.steps[0].durationSeconds, 900);
    // The cluster carried the step itself (transient) and ended on its own.
    const cluster = await clusterById(env, out.clusterId);
    assert.equal(cluster.AutoTerminate, true);
    assert.equal(cluster.Steps.length, 1);
    assert.equal(report.emrCalls.operations.RunJobFlow.calls, 1);
    assert.equal(report.emrCalls.operations.TerminateJobFlows, undefined, 'a successful run needs no TerminateJobFlows');
    await assertNothingLeftRunning(env, report);
  });
});

test('sixty steps: succeeds with every step reported in order (ListSteps pages)', async () => {
  await withEnvironment({}, async (env) => {
    const steps = Array.from({ length: 60 }, (_, i) => step(`Step ${String(i + 1).padStart(2, '0')}`, { seconds: 120 }));
    const report = await env.run('run-transient', input('sixty', steps));
    assert.equal(report.status, 'SUCCEEDED', explain(report));
    assert.deepEqual(
      report.output.steps.map((s) => s.name),
      steps.map((s) => s.name),
    );
    assert.ok(report.output.steps.every((s) => s.state === 'COMPLETED'));
    await assertNothingLeftRunning(env, report);
  });
});

for (const [action, later] of [
  ['TERMINATE_CLUSTER', 'CANCELLED'],
  ['CANCEL_AND_WAIT', 'CANCELLED'],
  ['CONTINUE', 'COMPLETED'],
]) {
  test(`a failing step with ActionOnFailure ${action}: StepFailed, with the step's reason, message and log file`, async () => {
    await withEnvironment({}, async (env) => {
      const steps = [
        step('Stage', { seconds: 300 }),
        step('Enrich', { seconds: 600, fail: true, action, reason: 'java.lang.OutOfMemoryError', message: 'Java heap space' }),
        step('Archive', { seconds: 300 }),
      ];
      const report = await env.run('run-transient', input(`fail-${action.toLowerCase()}`, steps));
      assert.equal(report.status, 'FAILED', explain(report));
      assert.equal(report.error, 'StepFailed');
      const cause = report.causeJson;
      assert.ok(cause, `Cause is JSON: ${report.cause}`);
      assert.match(cause.clusterId, /^j-/);
      const failed = cause.failedSteps.find((s) => s.name === 'Enrich');
      assert.equal(failed.state, 'FAILED');
      assert.equal(failed.failure.reason, 'java.lang.OutOfMemoryError');
      assert.equal(failed.failure.message, 'Java heap space');
      assert.match(failed.failure.logFile, /^s3:\/\/acme-data\/emr-logs\/j-[A-Z0-9]+\/steps\/s-[A-Z0-9]+\/stderr\.gz$/);
      const cluster = await clusterById(env, cause.clusterId);
      assert.deepEqual(
        cluster.Steps.map((s) => s.Status.State),
        ['COMPLETED', 'FAILED', later],
      );
      assert.ok(path(report).includes('Terminate the cluster'), 'the failure path terminates the cluster');
      await assertNothingLeftRunning(env, report);
    });
  });
}

test('bootstrap failure once, then success: relaunched after a jittered pause', async () => {
  const name = clusterNameFor('flaky-bootstrap');
  await withEnvironment({ scenario: { clusters: [{ match: { name }, bootstrapFailures: 1 }] } }, async (env) => {
    const report = await env.run('run-transient', input('flaky-bootstrap', [step('Enrich')]));
    assert.equal(report.status, 'SUCCEEDED', explain(report));
    assert.equal(report.output.launchAttempts, 2);
    assert.equal(report.launchedClusterIds.length, 2);
    const [first, second] = await Promise.all(report.launchedClusterIds.map((id) => clusterById(env, id)));
    assert.equal(first.Status.StateChangeReason.Code, 'BOOTSTRAP_FAILURE');
    assert.equal(second.Id, report.output.clusterId);
    const pause = report.events.find((e) => e.type === 'StateEntered' && e.state.name === 'Wait before relaunching');
    assert.ok(pause.waitSeconds >= 30 && pause.waitSeconds <= 180, `relaunch pause ${pause.waitSeconds} s`);
    await assertNothingLeftRunning(env, report);
  });
});

test('bootstrap failure three times: BootstrapFailure after three launches', async () => {
  const name = clusterNameFor('broken-bootstrap');
  await withEnvironment({ scenario: { clusters: [{ match: { name }, bootstrapFailures: 3 }] } }, async (env) => {
    const report = await env.run('run-transient', input('broken-bootstrap', [step('Enrich')]));
    assert.equal(report.status, 'FAILED', explain(report));
    assert.equal(report.error, 'BootstrapFailure');
    assert.equal(report.launchedClusterIds.length, 3);
    assert.equal(report.emrCalls.operations.RunJobFlow.calls, 3);
    assert.equal(report.causeJson.clusterId, report.launchedClusterIds[2]);
    assert.equal(report.causeJson.launchAttempt, 3);
    assert.equal(report.causeJson.reason.code, 'BOOTSTRAP_FAILURE');
    await assertNothingLeftRunning(env, report);
  });
});

test('30% of EMR calls throttled: the run still succeeds, with one cluster', async () => {
  await withEnvironment({ faults: { throttleShare: 0.3, seed: 7 } }, async (env) => {
    const report = await env.run('run-transient', input('throttled', [step('Stage', { seconds: 900 }), step('Enrich', { seconds: 1800 })]));
    assert.equal(report.status, 'SUCCEEDED', explain(report));
    assert.ok(report.emrCalls.throttled > 0, 'some calls were throttled');
    assert.equal(report.launchedClusterIds.length, 1);
    assert.equal((await env.clusters()).length, 1, 'exactly one cluster exists');
    assert.ok(report.output.steps.every((s) => s.state === 'COMPLETED'));
    await assertNothingLeftRunning(env, report);
  });
});

test('lost response on RunJobFlow: launch-cluster finds the cluster it launched, one cluster only', async () => {
  await withEnvironment({ faults: { lostResponses: { RunJobFlow: 1 } } }, async (env) => {
    const report = await env.run('run-transient', input('lost-response', [step('Enrich')]));
    assert.equal(report.status, 'SUCCEEDED', explain(report));
    assert.equal(report.emrCalls.operations.RunJobFlow.calls, 1, 'RunJobFlow is never sent twice');
    assert.equal(report.emrCalls.operations.RunJobFlow.lostResponses, 1);
    assert.equal((await env.clusters()).length, 1);
    // launch-cluster looks for its cluster before answering "unavailable", and finds it: no retry needed
    const launches = report.invocations.filter((i) => i.fn === 'launch-cluster');
    assert.equal(launches.length, 1);
    assert.equal(launches[0].output.alreadyLaunched, true);
    await assertNothingLeftRunning(env, report);
  });
});

test('invalid config: InvalidConfig before any EMR call, with the problem in the Cause', async () => {
  await withEnvironment({}, async (env) => {
    const broken = sparkClusterText.replace('"releaseLabel": "emr-7.5.0"', '"releaseLabel": "emr-7.5.0", "instanceCount": 3');
    const report = await env.run('run-transient', { cluster: broken, playbook: playbook([step('Enrich')]), vars: varsFor('invalid') });
    assert.equal(report.status, 'FAILED', explain(report));
    assert.equal(report.error, 'InvalidConfig');
    assert.equal(report.causeJson.clusterId, null);
    assert.match(report.causeJson.message, /instanceCount/);
    assert.equal(report.emrCalls.total, 0, 'no EMR call at all');
    assert.ok(!path(report).some((s) => s.startsWith('Terminate')), 'nothing to clean up');
  });
});

test('missing input: a missing playbook is InvalidConfig, nothing is called on EMR', async () => {
  await withEnvironment({}, async (env) => {
    const report = await env.run('run-transient', { cluster: sparkClusterText, vars: varsFor('no-playbook') });
    assert.equal(report.status, 'FAILED', explain(report));
    assert.equal(report.error, 'InvalidConfig');
    assert.equal(report.emrCalls.total, 0);
  });
});

test('configs given as s3:// references (moto S3): succeeds; a missing object is ConfigNotFound', async () => {
  await withEnvironment({ s3: true }, async (env) => {
    await env.moto.createBucket('acme-dataflow-configs');
    const cluster = await env.moto.putText('acme-dataflow-configs', 'nightly/cluster.json', sparkClusterText);
    const book = await env.moto.putText('acme-dataflow-configs', 'nightly/playbook.json', sparkPlaybookText);
    const report = await env.run('run-transient', { cluster, playbook: book, vars: varsFor('from-s3') });
    assert.equal(report.status, 'SUCCEEDED', explain(report));
    assert.deepEqual(
      report.output.steps.map((s) => s.name),
      ['Stage raw events', 'Enrich with Spark', 'Archive raw events'],
    );
    await assertNothingLeftRunning(env, report);

    const missing = await env.run('run-transient', { cluster, playbook: 's3://acme-dataflow-configs/nightly/nope.json', vars: varsFor('from-s3') });
    assert.equal(missing.status, 'FAILED', explain(missing));
    assert.equal(missing.error, 'ConfigNotFound');
    assert.match(missing.causeJson.message, /nope\.json/);
    assert.equal(missing.emrCalls.total, 0);
  });
});

test('a playbook that reads files with base64File runs unchanged, the files given in the input (s3:// and inline)', async () => {
  await withEnvironment({ s3: true }, async (env) => {
    // Snowplow's RDB Shredder playbook from its docs, byte for byte: base64File of two absolute paths.
    const shredder = readFileSync(join(examplesDir, '..', 'tests', 'reference', 'real', '10-docs-rdb-shredder-2x-playbook.json'), 'utf8');
    await env.moto.createBucket('acme-dataflow-configs');
    const resolver = await env.moto.putText('acme-dataflow-configs', 'iglu_resolver.json', '{"resolver": true}');
    const files = {
      '/home/snowplow/configs/snowplow/iglu_resolver.json': resolver,
      '/home/snowplow/configs/snowplow/config.hocon': 'shredder { }',
    };
    const report = await env.run('run-transient', { cluster: sparkClusterText, playbook: shredder, vars: varsFor('shredder'), files });
    assert.equal(report.status, 'SUCCEEDED', explain(report));
    const cluster = await clusterById(env, report.output.clusterId);
    const args = cluster.Steps.flatMap((s) => s.Config.Args);
    assert.ok(args.includes(Buffer.from('{"resolver": true}').toString('base64')), 'the s3:// file was read');
    assert.ok(args.includes(Buffer.from('shredder { }').toString('base64')), 'the inline file was used');
    await assertNothingLeftRunning(env, report);
  });
});

test('the cluster dies mid-run: ClusterFailed, the interrupted step in the Cause', async () => {
  const name = clusterNameFor('dies');
  await withEnvironment({ scenario: { clusters: [{ match: { name }, instanceFailureAfterSeconds: 900 }] } }, async (env) => {
    const report = await env.run('run-transient', input('dies', [step('Stage', { seconds: 600 }), step('Enrich', { seconds: 3600 })]));
    assert.equal(report.status, 'FAILED', explain(report));
    assert.equal(report.error, 'ClusterFailed');
    assert.equal(report.causeJson.reason.code, 'INSTANCE_FAILURE');
    assert.deepEqual(
      report.causeJson.failedSteps.map((s) => [s.name, s.state]),
      [['Enrich', 'INTERRUPTED']],
    );
    await assertNothingLeftRunning(env, report);
  });
});

test('a cluster that never finishes starting, polled: Timeout after maxStartupChecks checks, with its cost so far, and the cluster is terminated', async () => {
  const name = clusterNameFor('slow-start');
  await withEnvironment({ scenario: { clusters: [{ match: { name }, bootstrapSeconds: 86400 }] } }, async (env) => {
    const report = await env.run('run-transient', input('slow-start', [step('Enrich')], { maxStartupChecks: 20, completion: 'poll' }));
    assert.equal(report.status, 'FAILED', explain(report));
    assert.equal(report.error, 'Timeout');
    assert.equal(report.causeJson.clusterId, report.launchedClusterIds[0]);
    assert.equal(report.causeJson.checks, 20);
    assert.ok(report.causeJson.cost?.final === false && report.causeJson.cost.instanceHours > 0, 'the cost so far');
    assert.equal(report.emrCalls.operations.TerminateJobFlows.calls, 1);
    await assertNothingLeftRunning(env, report);
  });
});

test('a cluster that never finishes starting, waiting for events: Timeout at startupTimeoutSeconds (the backstop stops there), with its cost so far, and the cluster is terminated', async () => {
  const name = clusterNameFor('slow-start');
  await withEnvironment({ scenario: { clusters: [{ match: { name }, bootstrapSeconds: 86400 }] } }, async (env) => {
    const report = await env.run('run-transient', input('slow-start', [step('Enrich')], { startupTimeoutSeconds: 1800 }));
    assert.equal(report.status, 'FAILED', explain(report));
    assert.equal(report.error, 'Timeout');
    assert.equal(report.causeJson.clusterId, report.launchedClusterIds[0]);
    // At the startup timeout: the counts below bound it (one wait cut to it, a check or two), not the real seconds the
    // functions took on this machine, which the elapsed time also holds.
    assert.ok(report.causeJson.elapsedSeconds >= 1800, explain(report));
    assert.ok(report.causeJson.cost?.final === false && report.causeJson.cost.instanceHours > 0, 'the cost so far');
    assert.ok(report.metrics.byState['Wait no longer than startupTimeoutSeconds'] === 1, 'the first wait was cut to the startup timeout');
    const checks = report.metrics.byState['Check the run'];
    assert.ok(checks >= 1 && checks <= 2, `backstop checks at the startup timeout only: ${checks}`);
    assert.equal(report.emrCalls.operations.TerminateJobFlows.calls, 1);
    await assertNothingLeftRunning(env, report);
  });
});

test('a run longer than options.timeoutSeconds: Timeout at the first check past it, with its cost so far, and the cluster is terminated', async () => {
  await withEnvironment({}, async (env) => {
    const report = await env.run('run-transient', input('too-long', [step('Enrich', { seconds: 4 * 3600 })], { timeoutSeconds: 3600 }));
    assert.equal(report.status, 'FAILED', explain(report));
    assert.equal(report.error, 'Timeout');
    assert.ok(report.causeJson.elapsedSeconds > 3600, explain(report));
    assert.ok(report.causeJson.elapsedSeconds < 3600 + 400, 'detected within one poll interval');
    // What it cost so far: seven instances for more than the hour, still running when judged.
    const cost = report.causeJson.cost;
    assert.ok(cost && cost.final === false && cost.instanceHours > 7 * (3600 - 480) / 3600, JSON.stringify(cost));
    assert.equal(report.emrCalls.operations.TerminateJobFlows.calls, 1);
    await assertNothingLeftRunning(env, report);
  });
});

test('keepClusterOnFailure: the failed run leaves its cluster for debugging', async () => {
  const name = clusterNameFor('keep');
  await withEnvironment({ scenario: { clusters: [{ match: { name }, bootstrapSeconds: 86400 }] } }, async (env) => {
    const report = await env.run('run-transient', input('keep', [step('Enrich')], { maxStartupChecks: 5, keepClusterOnFailure: true }));
    assert.equal(report.error, 'Timeout', explain(report));
    const cluster = await clusterById(env, report.launchedClusterIds[0]);
    assert.ok(['STARTING', 'BOOTSTRAPPING'].includes(cluster.Status.State), cluster.Status.State);
    assert.equal(report.emrCalls.operations.TerminateJobFlows, undefined);
  });
});

test('redrive safety: every Task run twice (a retry or redrive after it took effect) gives the same outcome', async () => {
  await withEnvironment({}, async (env) => {
    const report = await env.run('run-transient', input('twice', [step('Stage'), step('Enrich')]), { repeatTasks: true });
    assert.equal(report.status, 'SUCCEEDED', explain(report));
    assert.equal((await env.clusters()).length, 1, 'one cluster, whatever ran twice');
    assert.equal(report.emrCalls.operations.RunJobFlow.calls, 1);
    assert.equal(report.output.steps.length, 2);
    await assertNothingLeftRunning(env, report);
  });
});

test('Lambda service exceptions are retried', async () => {
  await withEnvironment({}, async (env) => {
    const inject = ({ fn, attempt }) =>
      fn === 'launch-cluster' && attempt <= 2 ? new FunctionError('Lambda.ServiceException', 'Lambda is having a bad day') : undefined;
    const report = await env.run('run-transient', input('lambda-blip', [step('Enrich')]), { inject });
    assert.equal(report.status, 'SUCCEEDED', explain(report));
    assert.equal(report.events.filter((e) => e.type === 'StateRetried' && e.state.name === 'Launch cluster').length, 2);
    assert.equal((await env.clusters()).length, 1);
  });
});

test('check-status failing on every check: after options.maxFailedChecks in a row the cluster is terminated and the run fails with StatusUnknown', async () => {
  await withEnvironment({}, async (env) => {
    const inject = ({ fn, attempt }) => (fn === 'check-status' && attempt >= 3 ? new FunctionError('Internal', 'check-status: a defect') : undefined);
    // A day-long step: the cluster is still running when the run gives up on reading it.
    const report = await env.run('run-transient', input('crash', [step('Enrich', { seconds: 86400 })]), { inject });
    assert.equal(report.status, 'FAILED', explain(report));
    assert.equal(report.error, 'StatusUnknown');
    assert.equal(report.causeJson.clusterId, report.launchedClusterIds[0]);
    assert.equal(report.causeJson.error, 'Internal');
    assert.equal(report.causeJson.message, 'check-status: a defect');
    assert.equal(report.causeJson.failedChecks, 10);
    assert.match(report.causeJson.note, /could not be read options.maxFailedChecks times in a row/);
    assert.equal(report.emrCalls.operations.TerminateJobFlows.calls, 1);
    const cluster = await clusterById(env, report.launchedClusterIds[0]);
    assert.equal(cluster.Status.State, 'TERMINATING');
    await assertNothingLeftRunning(env, report);
  });
});

test('a launch that fails after RunJobFlow took effect: the clusters tagged with the execution are terminated', async () => {
  // The first launch-cluster launches the cluster, then its answer is lost (say it timed out); every retry is
  // answered "unavailable", so launch-cluster never returns a cluster id although EMR created one.
  await withEnvironment({}, async (env) => {
    const unavailable = () => new FunctionError('EmrUnavailable', 'ListClusters: no usable answer');
    const injectAfter = ({ fn, attempt }) => (fn === 'launch-cluster' && attempt === 1 ? unavailable() : undefined);
    const inject = ({ fn, attempt }) => (fn === 'launch-cluster' && attempt >= 2 ? unavailable() : undefined);
    const report = await env.run('run-transient', input('orphan', [step('Enrich')]), { inject, injectAfter });
    assert.equal(report.status, 'FAILED', explain(report));
    assert.equal(report.error, 'EmrUnavailable');
    assert.ok(path(report).includes("Terminate this run's clusters"));
    const clusters = await env.clusters();
    assert.equal(clusters.length, 1);
    assert.equal(clusters[0].Status.State, 'TERMINATING');
  });
});

test('the examples in examples/executions run as given (inline configs; s3:// configs in moto)', async () => {
  const example = (f) => JSON.parse(readFileSync(join(examplesDir, 'executions', f), 'utf8'));
  await withEnvironment({ s3: true }, async (env) => {
    const inline = await env.run('run-transient', example('run-transient-inline.json'));
    assert.equal(inline.status, 'SUCCEEDED', explain(inline));
    assert.equal(inline.output.clusterName, 'adhoc-report-2026-11-25');
    await assertNothingLeftRunning(env, inline);

    const fromS3 = example('run-transient.json');
    await env.moto.createBucket('acme-dataflow-configs');
    for (const [uri, text] of [
      [fromS3.cluster, sparkClusterText],
      [fromS3.playbook, sparkPlaybookText],
    ]) {
      const [, bucket, key] = /^s3:\/\/([^/]+)\/(.+)$/.exec(uri);
      await env.moto.putText(bucket, key, text);
    }
    const report = await env.run('run-transient', fromS3);
    assert.equal(report.status, 'SUCCEEDED', explain(report));
    assert.equal(report.output.steps.length, 3);
    await assertNothingLeftRunning(env, report);
  });
});
