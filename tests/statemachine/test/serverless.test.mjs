// run-transient on EMR Serverless, end to end: statemachine/serverless-run-transient.asl.json in
// aws-local-stepfunctions, every Task invoking the real Lambda binary, which talks to the emulator's EMR Serverless
// under the stack's IAM. Each run must leave no application behind that it created.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadDefinition } from '../lib/definitions.mjs';
import { FunctionError } from '../lib/harness.mjs';
import { measureServerlessReference } from '../lib/reference.mjs';
import { accessKeyOf } from '../lib/stack.mjs';
import { applicationsOf, assertNoApplicationLeft, embeddedLines, explain, path, serverlessInput, serverlessRunEndLines, serverlessRunItem, step, withEnvironment } from './support.mjs';

const MACHINE = 'serverless-run-transient';

const calls = (report, operation) => report.emrCalls.operations[operation]?.calls ?? 0;

/**
 * The run's end, written once by the one call that deleted its application (by `fn`): one run-end line with its
 * outcome and cost, and the same cost recorded in the wait table for `report`; returns the cost. `ran`: its job runs
 * ran (were billed).
 */
async function assertRunEnded(env, report, applicationId, { fn, outcome, jobRuns, ran = true }) {
  const lines = serverlessRunEndLines(env, applicationId);
  assert.equal(lines.length, 1, `one run-end line: ${JSON.stringify(lines)}`);
  const [{ fn: writer, line }] = lines;
  assert.equal(writer, fn);
  const app = (await applicationsOf(env, report)).find((a) => a.applicationId === applicationId);
  assert.deepEqual([line.Outcome, line.Execution, line.Command, line.Pipeline], [outcome, report.executionArn, 'run-transient', app.name]);
  assert.ok(line.DurationSeconds > 0, JSON.stringify(line));
  const item = await serverlessRunItem(env, applicationId);
  assert.equal(item?.status?.S, outcome, JSON.stringify(item));
  const cost = JSON.parse(item.cost.S);
  assert.deepEqual([cost.target, cost.jobRuns, cost.final], ['serverless', jobRuns, true]);
  // A job run cancelled before it ran is billed nothing (EMR Serverless reports no utilization for it).
  assert.ok(ran ? cost.vcpuHours > 0 && cost.usd > 0 : cost.vcpuHours >= 0 && cost.usd >= 0, JSON.stringify(cost));
  assert.deepEqual([line.RunCostUsd, line.VcpuHours, line.JobRuns], [cost.usd, cost.vcpuHours, jobRuns]);
  return cost;
}

const sum = (values) => Math.round(values.reduce((t, v) => t + v, 0) * 10000) / 10000;

test('serverless: the example playbook runs its steps in order as job runs, reports each with its cost, and deletes the application', async () => {
  await withEnvironment({}, async (env) => {
    const steps = [step('Enrich', { seconds: 900 }), step('Report', { seconds: 300 })];
    const report = await env.run(MACHINE, serverlessInput('ok', steps));
    assert.equal(report.status, 'SUCCEEDED', explain(report));
    const out = report.output;
    assert.match(out.applicationId, /^[0-9a-z]+$/);
    assert.equal(out.region, 'eu-west-1');
    assert.deepEqual(out.jobRuns.map((r) => [r.name, r.state]), [['Enrich', 'SUCCESS'], ['Report', 'SUCCESS']]);
    for (const r of out.jobRuns) {
      assert.ok(r.jobRunId);
      assert.ok(r.cost.vcpuHours > 0 && Number(r.cost.usd) > 0, JSON.stringify(r.cost));
      assert.match(r.logUri, new RegExp(`^s3://acme-data/emr-serverless-logs/applications/${out.applicationId}/jobs/${r.jobRunId}/`));
    }
    const [app] = await applicationsOf(env, report);
    // In order: the second job run was started after the first ended.
    const [first, second] = app.jobRuns;
    assert.ok(second.createdAt >= first.endedAt, `started at ${second.createdAt}, after the first ended at ${first.endedAt}`);
    assert.equal(calls(report, 'CreateApplication'), 1);
    assert.equal(calls(report, 'StartJobRun'), 2);
    assert.equal(calls(report, 'DeleteApplication'), 1);
    await assertNoApplicationLeft(env, report);
    // The run's cost: its job runs' together, in the output, the run-end line and the wait table's record.
    const cost = await assertRunEnded(env, report, out.applicationId, { fn: 'terminate-cluster', outcome: 'SUCCEEDED', jobRuns: 2 });
    assert.deepEqual(out.cost, cost);
    assert.equal(cost.vcpuHours, sum(out.jobRuns.map((r) => r.cost.vcpuHours)));
    assert.equal(cost.usd, sum(out.jobRuns.map((r) => Number(r.cost.usd))));
  });
});

test('serverless: a failing step fails the run as StepFailed naming the job run, the later steps never start, the application is deleted', async () => {
  await withEnvironment({}, async (env) => {
    const steps = [step('Enrich', { fail: true, message: 'OutOfMemoryError' }), step('Report')];
    const report = await env.run(MACHINE, serverlessInput('fail', steps));
    assert.equal(report.status, 'FAILED', explain(report));
    assert.equal(report.error, 'StepFailed');
    const cause = report.causeJson;
    assert.equal(cause.error, 'StepFailed');
    assert.equal(cause.name, 'Enrich');
    assert.equal(cause.state, 'FAILED');
    assert.match(cause.stateDetails, /OutOfMemoryError/);
    const [app] = await applicationsOf(env, report);
    assert.equal(cause.applicationId, app.applicationId);
    assert.equal(cause.jobRunId, app.jobRuns[0].jobRunId);
    assert.match(cause.logUri, new RegExp(`/applications/${app.applicationId}/jobs/${cause.jobRunId}/$`));
    assert.equal(calls(report, 'StartJobRun'), 1, 'the second step never started');
    await assertNoApplicationLeft(env, report);
    await assertRunEnded(env, report, app.applicationId, { fn: 'terminate-cluster', outcome: 'StepFailed', jobRuns: 1 });
  });
});

test('serverless: a failing step with actionOnFailure CONTINUE lets the playbook go on; the run succeeds and reports the failure', async () => {
  await withEnvironment({}, async (env) => {
    const steps = [step('Optional', { fail: true, action: 'CONTINUE' }), step('Main')];
    const report = await env.run(MACHINE, serverlessInput('continue', steps));
    assert.equal(report.status, 'SUCCEEDED', explain(report));
    assert.deepEqual(report.output.jobRuns.map((r) => [r.name, r.state]), [['Optional', 'FAILED'], ['Main', 'SUCCESS']]);
    await assertNoApplicationLeft(env, report);
  });
});

test('serverless: a StartJobRun whose answer is lost is retried with the same client token and starts one job run', async () => {
  await withEnvironment({}, async (env) => {
    // The first start that took effect (an earlier one may have found the application still CREATING) loses its answer.
    let lostOnce = false;
    const lost = ({ fn, output }) => {
      if (fn !== 'add-steps' || !output?.jobRunId || lostOnce) return undefined;
      lostOnce = true;
      return new FunctionError('Sandbox.Timedout', 'add-steps did not finish');
    };
    const report = await env.run(MACHINE, serverlessInput('lost', [step('Enrich')]), { injectAfter: lost });
    assert.equal(report.status, 'SUCCEEDED', explain(report));
    assert.ok(lostOnce);
    assert.equal(calls(report, 'StartJobRun'), 2, 'the start ran twice');
    const [app] = await applicationsOf(env, report);
    assert.equal(app.jobRuns.length, 1, 'and started one job run');
    await assertNoApplicationLeft(env, report);
  });
});

test('serverless: a launch whose answer is lost is retried and creates one application', async () => {
  await withEnvironment({}, async (env) => {
    const lost = ({ fn, attempt }) => fn === 'launch-cluster' && attempt === 1 && new FunctionError('Sandbox.Timedout', 'launch did not finish');
    const report = await env.run(MACHINE, serverlessInput('lost-launch', [step('Enrich')]), { injectAfter: lost });
    assert.equal(report.status, 'SUCCEEDED', explain(report));
    assert.equal(calls(report, 'CreateApplication'), 2);
    const mine = (await env.emulator.applications()).filter((a) => a.name === 'nightly-enrich-lost-launch');
    assert.equal(mine.length, 1, 'one application');
    await assertNoApplicationLeft(env, report);
  });
});

test('serverless: a step EMR Serverless cannot run is refused as InvalidConfig before anything is created', async () => {
  await withEnvironment({}, async (env) => {
    const distcp = { type: 'CUSTOM_JAR', name: 'Copy', actionOnFailure: 'CANCEL_AND_WAIT', jar: 'command-runner.jar', arguments: ['s3-dist-cp', '--src', 's3://a/', '--dest', 's3://b/'] };
    const report = await env.run(MACHINE, serverlessInput('refused', [distcp]));
    assert.equal(report.status, 'FAILED', explain(report));
    assert.equal(report.error, 'InvalidConfig');
    assert.match(report.causeJson.message, /s3-dist-cp/);
    assert.match(report.causeJson.message, /steps\[0\]/);
    assert.equal(calls(report, 'CreateApplication'), 0);
    assert.equal(report.emrCalls.total, 0, 'nothing was called');
  });
});

test('serverless: a run past options.timeoutSeconds cancels its job run, deletes the application and fails as Timeout', async () => {
  await withEnvironment({}, async (env) => {
    const report = await env.run(MACHINE, serverlessInput('timeout', [step('Long', { seconds: 86400 })], { timeoutSeconds: 3600 }));
    assert.equal(report.status, 'FAILED', explain(report));
    assert.equal(report.error, 'Timeout');
    assert.equal(report.causeJson.name, 'Long');
    const [app] = await applicationsOf(env, report);
    assert.equal(report.causeJson.jobRunId, app.jobRuns[0].jobRunId);
    assert.equal(app.jobRuns[0].state, 'CANCELLED');
    await assertNoApplicationLeft(env, report);
  });
});

// A check that fails after its retries (GetJobRun refused, EMR Serverless unavailable for minutes) says nothing about
// the job run: the iteration counts it, waits options.maxPollSeconds and checks again, as run-transient does on EMR.

/** check-status fails with `error` on the invocations whose number (from 1) is in `failing`; the others run. */
function checkStatusFailing(failing, error = 'EmrUnavailable') {
  let n = 0;
  return ({ fn }) => {
    if (fn !== 'check-status') return undefined;
    n += 1;
    return failing(n) ? new FunctionError(error, `${error}: GetJobRun had no usable answer`) : undefined;
  };
}

const failures = (report, error) => report.invocations.filter((i) => i.fn === 'check-status' && i.error?.name === error).length;
const entered = (report, state) => path(report).filter((name) => name === state).length;

test('serverless: checks that fail for a while, then answer: the iteration waits the longest pause, checks again and the run succeeds; a check that answers starts the count again', async () => {
  await withEnvironment({}, async (env) => {
    // maxFailedChecks 2: the first check fails (1 + its 8 retries), the next one answers (running), then the wait's
    // registration fails (9 invocations): counted from 0 again, that is one failure in a row, not two.
    const inject = checkStatusFailing((n) => n <= 9 || (n >= 11 && n <= 19));
    const input = serverlessInput('checks-recover', [step('Long', { seconds: 7200 })], { maxFailedChecks: 2 });
    const report = await env.run(MACHINE, input, { inject });
    assert.equal(report.status, 'SUCCEEDED', explain(report));
    assert.equal(failures(report, 'EmrUnavailable'), 18);
    assert.equal(entered(report, 'Count the first failed check'), 2, 'each failure the first in a row');
    assert.equal(entered(report, 'Count the failed check'), 0);
    assert.equal(entered(report, 'Wait the longest pause'), 2);
    assert.equal(entered(report, 'Describe the failed checks'), 0);
    assert.deepEqual(report.output.jobRuns.map((j) => j.state), ['SUCCESS']);
    const [app] = await assertNoApplicationLeft(env, report);
    assert.equal(app.jobRuns.length, 1);
  });
});

test('serverless: checks failing options.maxFailedChecks times in a row cancel the job run, delete the application and fail the run as StatusUnknown', async () => {
  await withEnvironment({}, async (env) => {
    const inject = checkStatusFailing(() => true);
    const report = await env.run(MACHINE, serverlessInput('checks-fail', [step('Long', { seconds: 86400 })], { maxFailedChecks: 3 }), { inject });
    assert.equal(report.status, 'FAILED', explain(report));
    assert.equal(report.error, 'StatusUnknown');
    assert.equal(failures(report, 'EmrUnavailable'), 27, 'three checks, each the first call and its 8 retries');
    assert.equal(entered(report, 'Wait the longest pause'), 2);
    const [app] = await applicationsOf(env, report);
    assert.equal(report.causeJson.applicationId, app.applicationId);
    assert.equal(report.causeJson.name, 'Long');
    assert.equal(report.causeJson.jobRunId, app.jobRuns[0].jobRunId);
    assert.equal(report.causeJson.error, 'EmrUnavailable');
    assert.equal(report.causeJson.message, 'EmrUnavailable: GetJobRun had no usable answer');
    assert.equal(report.causeJson.failedChecks, 3);
    assert.match(report.causeJson.note, /could not be read options.maxFailedChecks times in a row/);
    assert.equal(calls(report, 'CancelJobRun'), 1);
    assert.equal(app.jobRuns[0].state, 'CANCELLED');
    await assertNoApplicationLeft(env, report);
  });
});

test('serverless: a check refused as AccessDenied is not counted: the job run is cancelled and the run fails at once', async () => {
  await withEnvironment({}, async (env) => {
    const inject = checkStatusFailing(() => true, 'AccessDenied');
    const report = await env.run(MACHINE, serverlessInput('checks-denied', [step('Long', { seconds: 86400 })]), { inject });
    assert.equal(report.status, 'FAILED', explain(report));
    assert.equal(report.error, 'AccessDenied');
    assert.equal(failures(report, 'AccessDenied'), 1, 'never retried, never checked again');
    assert.equal(entered(report, 'Wait the longest pause'), 0);
    const [app] = await applicationsOf(env, report);
    assert.equal(report.causeJson.jobRunId, app.jobRuns[0].jobRunId);
    assert.equal(app.jobRuns[0].state, 'CANCELLED');
    await assertNoApplicationLeft(env, report);
  });
});

// Ends that no state of the execution sees (stopped, timed out): the stack's cleanup rule sends them to
// terminate-cluster, which cancels the run's job runs and stops and deletes its application as far as EMR Serverless
// lets it at once; what is still on its way (job runs cancelling, the application STOPPING) the reconciler's next
// sweeps finish. Each test lets a few sweep periods pass, then asserts nothing of the run is left.

/**
 * Three sweeps of the reconciler, two minutes apart (as its schedule would start them; here at known moments, so no
 * sweep comes before the cleanup event): cancel, stop, delete take at most one step each.
 */
async function sweepsLater(env) {
  const sweeps = [];
  for (let i = 0; i < 3; i += 1) {
    await env.advance(120);
    const sweep = await env.sweep();
    assert.equal(sweep.error, undefined, JSON.stringify(sweep.error));
    sweeps.push(sweep);
  }
  return sweeps;
}

const deletedBySweeps = (sweeps) => sweeps.flatMap((s) => s.output?.applicationsDeleted ?? []).map((r) => r.target);
const finishedBySweeps = (sweeps) => sweeps.flatMap((s) => s.output?.applicationsFinished ?? []);
/** The reconciler's repair lines (what ReconcilerRepairsAlarm counts). */
const repairLines = (env) => embeddedLines(env).filter(({ fn, line }) => fn === 'reconciler' && 'Repairs' in line);

test('serverless: stopped while a job run runs, the cleanup cancels the job run and the reconciler deletes the stopped application', async () => {
  await withEnvironment({}, async (env) => {
    const stopWhen = ({ fn, attempt }) => fn === 'check-status' && attempt === 1;
    const report = await env.run(MACHINE, serverlessInput('stopped', [step('Long', { seconds: 7200 }), step('Next')]), { stopWhen });
    assert.equal(report.status, 'ABORTED', explain(report));
    const [app] = await applicationsOf(env, report);
    assert.ok(app, 'the run created its application');
    assert.equal(report.cleanup?.error, undefined, JSON.stringify(report.cleanup));
    const cleanup = report.cleanup.output;
    assert.deepEqual(cleanup.jobRunsCancelled, [app.jobRuns[0].jobRunId], JSON.stringify(cleanup));
    // Cancelling takes a while: the application is left to the next sweeps, never stopped with a job run on it.
    assert.deepEqual(cleanup.applicationsEnding, [app.applicationId]);
    assert.equal(app.jobRuns.length, 1, 'the next step never started');
    // terminate-cluster noted that it left the deletion to the reconciler.
    assert.equal((await serverlessRunItem(env, app.applicationId))?.status?.S, 'ABORTED');
    const sweeps = await sweepsLater(env);
    // Finishing it is routine, not a repair: no alarm for an ordinary stop.
    assert.deepEqual(finishedBySweeps(sweeps), [app.applicationId]);
    assert.deepEqual(deletedBySweeps(sweeps), []);
    assert.equal(repairLines(env).length, 0, JSON.stringify(repairLines(env)));
    const [after] = await applicationsOf(env, report);
    assert.equal(after.jobRuns[0].state, 'CANCELLED');
    assert.equal(calls(report, 'DeleteApplication'), 0, 'the execution itself deleted nothing');
    await assertNoApplicationLeft(env, report);
    await assertRunEnded(env, report, app.applicationId, { fn: 'reconciler', outcome: 'ABORTED', jobRuns: 1, ran: Boolean(app.jobRuns[0].startedAt) });
  });
});

test('serverless: stopped while its application is being created, the application is deleted once created', async () => {
  await withEnvironment({}, async (env) => {
    const report = await env.run(MACHINE, serverlessInput('stop-launch', [step('Enrich')]), { stopWhen: ({ fn }) => fn === 'launch-cluster' });
    assert.equal(report.status, 'ABORTED', explain(report));
    const apps = (await env.emulator.applications()).filter((a) => a.name === 'nightly-enrich-stop-launch');
    assert.equal(apps.length, 1, 'the launch in flight created one application');
    assert.equal(report.cleanup?.error, undefined, JSON.stringify(report.cleanup));
    const sweeps = await sweepsLater(env);
    const [app] = (await env.emulator.applications()).filter((a) => a.name === 'nightly-enrich-stop-launch');
    assert.equal(app.state, 'TERMINATED');
    assert.equal(app.jobRuns.length, 0);
    const deleted = [...(report.cleanup.output.applicationsDeleted ?? []), ...deletedBySweeps(sweeps), ...finishedBySweeps(sweeps)];
    assert.deepEqual(deleted, [app.applicationId], 'deleted once');
  });
});

test('serverless: an execution past its definition\'s TimeoutSeconds has its job run cancelled and its application deleted', async () => {
  await withEnvironment({}, async (env) => {
    const definition = { ...loadDefinition(MACHINE), TimeoutSeconds: 7200 };
    const report = await env.run(MACHINE, serverlessInput('timed-out', [step('Long', { seconds: 86400 })]), { definition });
    assert.equal(report.status, 'TIMED_OUT', explain(report));
    const [app] = await applicationsOf(env, report);
    assert.equal(report.cleanup?.error, undefined, JSON.stringify(report.cleanup));
    assert.deepEqual(report.cleanup.output.jobRunsCancelled, [app.jobRuns[0].jobRunId]);
    const sweeps = await sweepsLater(env);
    assert.deepEqual(finishedBySweeps(sweeps), [app.applicationId], 'routine: the cleanup rule left it to the sweep');
    assert.deepEqual(deletedBySweeps(sweeps), []);
    await assertRunEnded(env, report, app.applicationId, { fn: 'reconciler', outcome: 'TIMED_OUT', jobRuns: 1 });
    const [after] = await applicationsOf(env, report);
    assert.equal(after.jobRuns[0].state, 'CANCELLED');
    await assertNoApplicationLeft(env, report);
  });
});

test('serverless: stopped, its cleanup event lost, the reconciler cancels the job run, stops and deletes the application', async () => {
  await withEnvironment({}, async (env) => {
    const stopWhen = ({ fn, attempt }) => fn === 'check-status' && attempt === 1;
    const report = await env.run(MACHINE, serverlessInput('lost-cleanup', [step('Long', { seconds: 7200 })]), { stopWhen, lostEvents: ['terminate-cluster'] });
    assert.equal(report.status, 'ABORTED', explain(report));
    assert.equal(report.cleanup, undefined, 'no cleanup event');
    const [app] = await applicationsOf(env, report);
    assert.ok(['STARTING', 'STARTED'].includes(app.state), app.state);
    assert.ok(!['SUCCESS', 'FAILED', 'CANCELLED'].includes(app.jobRuns[0].state), 'left running by the stop');
    const sweeps = await sweepsLater(env);
    // No note of the cleanup rule: the sweep's deletion is a repair, counted for the alarm.
    assert.deepEqual(deletedBySweeps(sweeps), [app.applicationId]);
    assert.deepEqual(finishedBySweeps(sweeps), []);
    assert.equal(repairLines(env).reduce((n, { line }) => n + line.Repairs, 0), 1);
    const [after] = await applicationsOf(env, report);
    assert.equal(after.jobRuns[0].state, 'CANCELLED');
    await assertNoApplicationLeft(env, report);
    await assertRunEnded(env, report, app.applicationId, { fn: 'reconciler', outcome: 'ABORTED', jobRuns: 1 });
  });
});

// Completion by EMR Serverless's events (options.completion "events", the default): each job run's end event reaches
// event-router through the stack's EmrServerlessJobRunEventRule, which answers the iteration's task token.

test('serverless, waiting for events: each job run\'s end is found by its own event within seconds, with one check per job run and no polling', async () => {
  await withEnvironment({}, async (env) => {
    const m = await measureServerlessReference(env, 'sls-events');
    const { report } = m;
    const steps = report.output.jobRuns;
    assert.deepEqual(steps.map((r) => r.state), ['SUCCESS', 'SUCCESS', 'SUCCESS']);
    const answered = report.callbackWaits.filter((w) => w.outcome === 'succeeded');
    assert.equal(answered.length, steps.length, 'one wait per job run, each answered');
    assert.ok(answered.every((w) => w.answeredBy === 'event-router'), JSON.stringify(report.callbackWaits));
    // A check at each job run's start, and one more only where a backstop (minBackstopSeconds, 3,600 s) came before
    // the job run's end (the 3,600 s step).
    const backstops = report.callbackWaits.filter((w) => w.outcome === 'timed-out').length;
    assert.ok(backstops <= 1, JSON.stringify(report.callbackWaits));
    assert.equal(m.polls, steps.length + backstops);
    // GetJobRun: those checks, event-router's when each end event comes, and the cleanup's read of each job run
    // for the run's cost; nothing else reads a job run.
    assert.equal(m.apiCalls.byOperation.GetJobRun, m.polls + answered.length + steps.length, JSON.stringify(m.apiCalls.byOperation));
    assert.ok(m.detectionLatencySeconds <= 5, `found ${m.detectionLatencySeconds} s after the last job run ended`);
    // Each job run is priced as the architecture launch answered: check-status and event-router read no application.
    assert.ok(steps.every((r) => Number(r.cost.usd) > 0), JSON.stringify(steps.map((r) => r.cost)));
    const readers = (await env.emulator.requests())
      .filter((r) => r.operation === 'GetApplication' && [accessKeyOf('check-status'), accessKeyOf('event-router')].includes(r.accessKeyId));
    assert.equal(readers.length, 0, JSON.stringify(readers));
    assert.ok(calls(report, 'GetApplication') > 0, 'the requests are those of this environment (add-steps reads the application)');
    const polled = await measureServerlessReference(env, 'sls-poll', { completion: 'poll' });
    assert.equal(polled.callbackWaits, 0, 'completion "poll" never waits on a token');
    assert.ok(polled.polls > m.polls, `${polled.polls} polls`);
    assert.ok(m.stateTransitions < polled.stateTransitions / 4, `${m.stateTransitions} transitions waiting, ${polled.stateTransitions} polling`);
    await assertNoApplicationLeft(env, report);
    await assertNoApplicationLeft(env, polled.report);
  });
});

test('serverless, every event lost: each job run\'s wait ends at its backstop, the run still succeeds and deletes its application', async () => {
  await withEnvironment({ faults: { events: { dropRate: 1 } } }, async (env) => {
    const m = await measureServerlessReference(env, 'sls-events-lost');
    const { report } = m;
    assert.equal(report.eventDeliveries.length, 0, 'nothing delivered');
    assert.deepEqual(report.output.jobRuns.map((r) => r.state), ['SUCCESS', 'SUCCESS', 'SUCCESS']);
    assert.ok(report.callbackWaits.length >= 3 && report.callbackWaits.every((w) => w.outcome === 'timed-out'), JSON.stringify(report.callbackWaits));
    // Found at most maxBackstopSeconds (7,200 s by default) after the last job run ended.
    assert.ok(m.detectionLatencySeconds > 5 && m.detectionLatencySeconds <= 7200, `${m.detectionLatencySeconds} s`);
    await assertNoApplicationLeft(env, report);
  });
});

test('serverless, a failing job run ends the run by its event: StepFailed found within seconds, the application deleted', async () => {
  await withEnvironment({}, async (env) => {
    const steps = [step('Enrich', { seconds: 1200, fail: true, message: 'OutOfMemoryError' }), step('Report')];
    const report = await env.run(MACHINE, serverlessInput('events-fail', steps));
    assert.equal(report.status, 'FAILED', explain(report));
    assert.equal(report.error, 'StepFailed');
    assert.match(report.causeJson.stateDetails, /OutOfMemoryError/);
    const wait = report.callbackWaits.at(-1);
    assert.equal(wait.outcome, 'succeeded');
    assert.equal(wait.answeredBy, 'event-router');
    const [app] = await applicationsOf(env, report);
    assert.ok(wait.answeredAt - app.jobRuns[0].endedAt <= 5, `answered ${wait.answeredAt - app.jobRuns[0].endedAt} s after the job run ended`);
    await assertNoApplicationLeft(env, report);
  });
});
