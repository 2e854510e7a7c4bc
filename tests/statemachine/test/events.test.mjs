// Event-driven completion (options.completion "events", the default) end to end: the emulator emits EMR's events,
// the local bus delivers them to the real event-router under the stack's rule and IAM, which answers the run's task
// token through the local Step Functions endpoint. The budget for the reference run is asserted here on
// counted figures (bench.mjs writes the same figures into bench/results/statemachine.json); losing, delaying and
// duplicating events must never change the outcome, only how late it is found.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { repoRoot } from '../lib/paths.mjs';
import { measureReference, referenceInput, virtualStart } from '../lib/reference.mjs';
import { assertNothingLeftRunning, explain, playbook, sparkClusterText, step, varsFor, withEnvironment, withoutStatement } from './support.mjs';

const TEMPLATE = readFileSync(join(repoRoot, 'infra', 'template.yaml'), 'utf8');

test('the reference run waiting for events: ≤ 20 transitions, ≤ 10 Lambda invocations, ≤ 6 EMR calls (and ≤ 2 that read its cost), ≤ 80 history events, found within 5 s of its cluster\'s end', async (t) => {
  await withEnvironment({}, async (env) => {
    const m = await measureReference(env, 'events');
    t.diagnostic(JSON.stringify({ ...m, report: undefined, emrCallTimes: undefined }));
    assert.ok(m.stateTransitions <= 20, `${m.stateTransitions} transitions`);
    assert.ok(m.lambdaInvocations.total <= 10, `${JSON.stringify(m.lambdaInvocations)} invocations`);
    assert.ok(m.emrCalls.costReads <= 2, `${JSON.stringify(m.emrCalls.byOperation)} EMR calls`);
    assert.ok(m.emrCalls.total - m.emrCalls.costReads <= 6, `${JSON.stringify(m.emrCalls.byOperation)} EMR calls`);
    assert.ok(m.report.output.cost, 'the run reports its cost');
    assert.ok(m.historyEvents <= 80, `${m.historyEvents} history events`);
    assert.ok(m.detectionLatencySeconds <= 5, `found ${m.detectionLatencySeconds} s after the cluster ended`);
    // It was an event that ended it: event-router answered the last wait.
    const last = m.report.callbackWaits.at(-1);
    assert.equal(last.outcome, 'succeeded');
    assert.equal(last.answeredBy, 'event-router');
    assert.equal(m.report.output.steps.length, 3);
    assert.ok(m.report.output.steps.every((s) => s.state === 'COMPLETED'));
  });
});

test('every event lost: the run still succeeds through its backstop checks, found at most maxBackstopSeconds late', async () => {
  await withEnvironment({ faults: { events: { dropRate: 1 } } }, async (env) => {
    const m = await measureReference(env, 'events-lost');
    assert.ok(m.report.eventDeliveries.length === 0, 'nothing delivered');
    assert.ok(m.detectionLatencySeconds > 5 && m.detectionLatencySeconds <= 7200, `${m.detectionLatencySeconds} s`);
    assert.ok(m.polls >= 1 && m.polls <= 3, `${m.polls} backstop checks`);
    assert.ok(m.report.callbackWaits.slice(0, -1).every((w) => w.outcome === 'timed-out'));
    await assertNothingLeftRunning(env, m.report);
  });
});

test('events delayed, reordered and duplicated: one answer, the same outcome, found when the late event comes', async () => {
  await withEnvironment({ faults: { seed: 7, events: { duplicateRate: 1, delaySeconds: 20, maxExtraDelaySeconds: 40 } } }, async (env) => {
    const m = await measureReference(env, 'events-late');
    assert.ok(m.detectionLatencySeconds >= 20 && m.detectionLatencySeconds <= 65, `${m.detectionLatencySeconds} s`);
    const answered = m.report.callbackWaits.filter((w) => w.outcome === 'succeeded');
    assert.equal(answered.length, 1, 'one wait answered');
    // The reference run's 6 calls (the test above), and a check (DescribeCluster, ListSteps) at most for the duplicates.
    assert.ok(m.emrCalls.costReads <= 2, `the cost is read once: ${JSON.stringify(m.emrCalls.byOperation)}`);
    assert.ok(m.emrCalls.total - m.emrCalls.costReads <= 8, `duplicates cost at most a check each: ${JSON.stringify(m.emrCalls.byOperation)}`);
    // every delivery answered without an error (a duplicate finds the wait gone, or the token dead)
    assert.ok(m.report.eventDeliveries.every((d) => !d.error), JSON.stringify(m.report.eventDeliveries.filter((d) => d.error)));
  });
});

test('a failing step ends the run by its events: StepFailed found within seconds of its cluster\'s end', async () => {
  await withEnvironment({}, async (env) => {
    const input = {
      cluster: sparkClusterText,
      playbook: playbook([step('Stage', { seconds: 1200, fail: true, action: 'TERMINATE_CLUSTER' }), step('Enrich')]),
      vars: varsFor('events-fail'),
    };
    const report = await env.run('run-transient', input);
    assert.equal(report.status, 'FAILED', explain(report));
    assert.equal(report.error, 'StepFailed');
    assert.equal(report.causeJson.failedSteps[0].name, 'Stage');
    // Found when the cluster that the failed step ended has ended (transient runs end with their cluster).
    const cluster = (await env.clusters()).find((c) => c.Id === report.causeJson.clusterId);
    assert.ok(report.virtualSeconds <= cluster.Status.Timeline.EndDateTime - virtualStart(report) + 5, `found at ${report.virtualSeconds} s`);
    assert.equal(report.callbackWaits.at(-1).answeredBy, 'event-router');
    await assertNothingLeftRunning(env, report);
  });
});

test('up, run and down with events: the cluster is ready at its RUNNING event, the run ends at its last step\'s event', async () => {
  await withEnvironment({}, async (env) => {
    const up = await env.run('up', { cluster: sparkClusterText, vars: varsFor('events-up') });
    assert.equal(up.status, 'SUCCEEDED', explain(up));
    assert.equal(up.callbackWaits.at(-1).answeredBy, 'event-router');
    const clusterId = up.output.clusterId;
    const run = await env.run('run', { clusterId, playbook: playbook([step('Load', { seconds: 900 }), step('Report', { seconds: 300 })]) });
    assert.equal(run.status, 'SUCCEEDED', explain(run));
    assert.equal(run.callbackWaits.at(-1).answeredBy, 'event-router');
    assert.ok(run.virtualSeconds <= 1200 + 5, `found at ${run.virtualSeconds} s`);
    // step events of another run on the same cluster end nothing: a second run's wait is answered by its own steps
    const down = await env.run('down', { clusterId });
    assert.equal(down.status, 'SUCCEEDED', explain(down));
  });
});

test('events of a cluster this stack did not launch cost no EMR call and answer nothing', async () => {
  await withEnvironment({}, async (env) => {
    const foreign = await env.emrAsOperator('RunJobFlow', {
      Name: 'someone-else',
      ReleaseLabel: 'emr-7.5.0',
      Instances: { KeepJobFlowAliveWhenNoSteps: false, InstanceGroups: [{ InstanceRole: 'MASTER', InstanceType: 'm5.xlarge', InstanceCount: 1 }] },
      Steps: [{ Name: 'theirs', HadoopJarStep: { Jar: 'command-runner.jar', Args: ['true'] } }],
      JobFlowRole: 'EMR_EC2_DefaultRole',
      ServiceRole: 'EMR_DefaultRole',
    });
    await env.emulator.admin('POST', 'requests/reset');
    await env.advance(4 * 3600);
    const toForeign = env.eventDeliveries.filter((d) => d.event.detail.clusterId === foreign.JobFlowId);
    assert.ok(toForeign.length >= 2, 'its events reached event-router');
    assert.ok(toForeign.every((d) => !d.error && d.output.waits === 0 && d.output.checked === 0));
    const calls = (await env.emulator.requests()).filter((r) => r.accessKeyId === 'AKIDEVENTROUTER');
    assert.deepEqual(calls, [], 'event-router called EMR');
  });
});

test('options.completion "poll" keeps the polling loop: no task token, no event answers', async () => {
  await withEnvironment({}, async (env) => {
    const report = await env.run('run-transient', referenceInput('poll', { completion: 'poll' }));
    assert.equal(report.status, 'SUCCEEDED', explain(report));
    assert.equal(report.callbackWaits.length, 0);
    assert.ok(report.metrics.byState['Wait for the next check'] > 10);
  });
});

test("the deployed IAM holds: without its wait-table statement check-status fails the run as AccessDenied (cluster terminated); without SendTaskSuccess event-router's answers are refused and the backstop ends the run", async () => {
  await withEnvironment({ template: withoutStatement(TEMPLATE, 'RegisterWaits') }, async (env) => {
    const report = await env.run('run-transient', referenceInput('iam-waits'));
    assert.equal(report.status, 'FAILED', explain(report));
    assert.equal(report.error, 'AccessDenied');
    assert.match(report.cause, /dynamodb:UpdateItem/);
    await assertNothingLeftRunning(env, report);
  });
  await withEnvironment({ template: withoutStatement(TEMPLATE, 'AnswerWaitingRuns') }, async (env) => {
    const report = await env.run('run-transient', referenceInput('iam-answer'));
    assert.equal(report.status, 'SUCCEEDED', explain(report));
    const refused = report.eventDeliveries.filter((d) => d.error);
    assert.ok(refused.length >= 1, 'the answer was refused');
    assert.match(refused[0].error.message, /states:SendTaskSuccess/);
    assert.ok(report.callbackWaits.every((w) => w.answeredBy !== 'event-router'), 'no wait answered by event-router');
  });
});

test('a run wait registered again after its backstop check still counts the steps that ended before: the last step\'s event ends it', async () => {
  await withEnvironment({}, async (env) => {
    const up = await env.run('up', { cluster: sparkClusterText, vars: varsFor('events-reregistered') });
    assert.equal(up.status, 'SUCCEEDED', explain(up));
    // The first step ends before the first backstop (3,600 s), the second after it: the wait is registered again
    // between the two step events. Someone else's long step queued behind them keeps the cluster RUNNING, so only
    // the step events can end the run (no WAITING event).
    const clusterId = up.output.clusterId;
    let queued = false;
    const queueTheirs = () => {
      if (queued) return [];
      queued = true;
      const theirs = { Name: 'theirs', ActionOnFailure: 'CONTINUE', HadoopJarStep: { Jar: 'command-runner.jar', Args: ['true', '--emulator-duration=20000'] } };
      return [{ after: 0, run: () => env.emrAsOperator('AddJobFlowSteps', { JobFlowId: clusterId, Steps: [theirs] }) }];
    };
    const run = await env.run(
      'run',
      { clusterId, playbook: playbook([step('Load', { seconds: 1800 }), step('Report', { seconds: 5400 })]) },
      { callbackActions: queueTheirs },
    );
    assert.ok(queued);
    assert.equal(run.status, 'SUCCEEDED', explain(run));
    assert.ok(run.callbackWaits.length >= 2 && run.callbackWaits[0].outcome === 'timed-out', 'the backstop ran between the two steps');
    assert.equal(run.callbackWaits.at(-1).answeredBy, 'event-router', 'the last step\'s event ended the run');
    assert.ok(run.virtualSeconds <= 7200 + 5, `found at ${run.virtualSeconds} s, the steps ended at 7,200 s`);
  });
});

test('task tokens of 2,048 characters, as long as Step Functions makes them: the reference run succeeds', async () => {
  await withEnvironment({ taskTokenLength: 2048 }, async (env) => {
    const m = await measureReference(env, 'long-tokens');
    const tokens = m.report.invocations.filter((i) => i.token).map((i) => i.token.length);
    assert.ok(tokens.length >= 2 && tokens.every((n) => n > 2000 && n <= 2048), JSON.stringify(tokens));
    assert.equal(m.report.callbackWaits.at(-1).answeredBy, 'event-router');
  });
});
