// up, run and down on EMR Serverless, end to end: statemachine/serverless-up.asl.json creates and starts an
// application and hands it over, serverless-run-transient runs playbooks on it (its input's applicationId: the CLI's
// run --emr-application), serverless-down deletes it. The real definitions, the real Lambda binaries, the emulator's
// EMR Serverless under the stack's IAM; then the CLI's up, run and down over the same.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { cli, withStack } from '../lib/cli.mjs';
import { FunctionError } from '../lib/harness.mjs';
import { examplesDir } from '../lib/paths.mjs';
import { applicationsOf, explain, playbook, serverlessConfigText, serverlessInput, step, tempFile, withEnvironment } from './support.mjs';

const calls = (report, operation) => report.emrCalls.operations[operation]?.calls ?? 0;
/** serverless-up's input: the example ServerlessConfig, its application nightly-enrich-<env>. */
const upInput = (env) => {
  const { cluster, vars } = serverlessInput(env, []);
  return { cluster, vars };
};
/** serverless-run-transient's input for a run of `steps` on the application `applicationId`. */
const runOn = (applicationId, env, steps) => ({ ...serverlessInput(env, steps), applicationId });
const application = async (env, id) => (await env.emulator.applications()).find((a) => a.applicationId === id);

/** An application someone else in the account created (no Dataflow Runner tags). */
async function foreignApplication(env) {
  const { applicationId } = await env.serverlessAsOperator('POST', '/applications', {
    name: 'someone-elses',
    releaseLabel: 'emr-7.5.0',
    type: 'Spark',
    clientToken: 'someone-elses-app',
  });
  return applicationId;
}

test('serverless up → run → run → down: one application created and started, kept between the runs, each run a job run on it, deleted by down', async () => {
  await withEnvironment({}, async (env) => {
    const up = await env.run('serverless-up', upInput('shared'));
    assert.equal(up.status, 'SUCCEEDED', explain(up));
    const { applicationId } = up.output;
    assert.match(applicationId, /^[0-9a-z]+$/);
    assert.equal(up.output.applicationName, 'nightly-enrich-shared');
    assert.equal(up.output.state, 'STARTED');
    assert.equal(up.output.region, 'eu-west-1');
    assert.equal(calls(up, 'CreateApplication'), 1);
    assert.equal(calls(up, 'StartApplication'), 1, 'started once, then waited for');
    assert.equal(calls(up, 'DeleteApplication'), 0);
    assert.equal(up.cleanup, undefined, 'a succeeded up is no cleanup rule event');
    assert.equal((await application(env, applicationId)).state, 'STARTED');

    // The reconciler leaves it: its execution succeeded, so it is handed over. Idle past its autoStop, EMR Serverless
    // stops it; the next job run starts it again.
    await env.advance(1200);
    const sweep = await env.sweep();
    assert.equal(sweep.error, undefined, JSON.stringify(sweep.error));
    assert.deepEqual(sweep.output.applicationsDeleted ?? [], []);
    assert.deepEqual(sweep.output.applicationsEnding ?? [], []);
    assert.equal((await application(env, applicationId)).state, 'STOPPED', 'stopped by its autoStop, not deleted');

    const runs = [];
    for (const name of ['Enrich', 'Report']) {
      const run = await env.run('serverless-run-transient', runOn(applicationId, 'shared', [step(name)]));
      assert.equal(run.status, 'SUCCEEDED', explain(run));
      assert.equal(run.output.applicationId, applicationId);
      assert.deepEqual(run.output.jobRuns.map((r) => [r.name, r.state]), [[name, 'SUCCESS']]);
      for (const op of ['CreateApplication', 'StopApplication', 'DeleteApplication']) assert.equal(calls(run, op), 0, `${name}: ${op}`);
      assert.equal(calls(run, 'StartJobRun'), 1);
      assert.deepEqual(await applicationsOf(env, run), [], 'the run created no application');
      runs.push(run);
    }
    const kept = await application(env, applicationId);
    assert.notEqual(kept.state, 'TERMINATED');
    assert.deepEqual(kept.jobRuns.map((j) => j.state), ['SUCCESS', 'SUCCESS']);
    assert.deepEqual(kept.jobRuns.map((j) => j.tags['dataflow-runner:execution']), runs.map((r) => r.executionArn), 'each job run is its run\'s');

    const down = await env.run('serverless-down', { applicationId });
    assert.equal(down.status, 'SUCCEEDED', explain(down));
    assert.deepEqual(down.output, { applicationId, deleted: true, cancelled: [] });
    assert.equal(calls(down, 'DeleteApplication'), 1);
    assert.equal((await application(env, applicationId)).state, 'TERMINATED');
    const all = await env.emulator.applications();
    assert.equal(all.length, 1, 'one application in all');

    // down again: already deleted, still a success, nothing deleted twice.
    const again = await env.run('serverless-down', { applicationId });
    assert.equal(again.status, 'SUCCEEDED', explain(again));
    assert.equal(again.output.deleted, true);
    assert.equal(calls(again, 'DeleteApplication'), 0);
  });
});

test('serverless down cancels the job runs still running on the application, then stops and deletes it', async () => {
  await withEnvironment({}, async (env) => {
    const up = await env.run('serverless-up', upInput('busy'));
    assert.equal(up.status, 'SUCCEEDED', explain(up));
    const { applicationId } = up.output;
    // A run stopped while its job run runs: its cleanup cancels its job run, the application (not the run's) stays.
    const stopWhen = ({ fn, attempt }) => fn === 'check-status' && attempt === 1;
    const stopped = await env.run('serverless-run-transient', runOn(applicationId, 'busy', [step('Long', { seconds: 7200 })]), { stopWhen });
    assert.equal(stopped.status, 'ABORTED', explain(stopped));
    const [jobRun] = (await application(env, applicationId)).jobRuns;
    assert.deepEqual(stopped.cleanup.output.jobRunsCancelled, [jobRun.jobRunId], JSON.stringify(stopped.cleanup.output));
    assert.deepEqual(stopped.cleanup.output.applicationsDeleted ?? [], [], 'the handed-over application is not the run\'s');
    assert.equal(calls(stopped, 'StopApplication') + (stopped.cleanup.emrCalls.operations.StopApplication?.calls ?? 0), 0);

    // Another run left running (its execution still going) when down comes: down cancels it first.
    const second = await env.run('serverless-run-transient', runOn(applicationId, 'busy', [step('Longer', { seconds: 7200 })]), { stopWhen, lostEvents: ['terminate-cluster'] });
    assert.equal(second.status, 'ABORTED');
    // (The first run's job run may still be CANCELLING: it is on its way, and down does not cancel it again.)
    const running = (await application(env, applicationId)).jobRuns.filter((j) => !['SUCCESS', 'FAILED', 'CANCELLED', 'CANCELLING'].includes(j.state));
    assert.equal(running.length, 1, 'one job run still running');
    const down = await env.run('serverless-down', { applicationId });
    assert.equal(down.status, 'SUCCEEDED', explain(down));
    // Its first pass cancelled the job run; the pass that deleted the application had nothing left to cancel.
    assert.equal(calls(down, 'CancelJobRun'), 1);
    assert.equal(down.output.deleted, true);
    const app = await application(env, applicationId);
    assert.equal(app.jobRuns.find((j) => j.jobRunId === running[0].jobRunId).state, 'CANCELLED');
    assert.equal(app.state, 'TERMINATED');
    assert.ok(app.jobRuns.every((j) => ['SUCCESS', 'FAILED', 'CANCELLED'].includes(j.state)));
  });
});

test('serverless up: a failure after the application was created deletes it before the execution fails', async () => {
  await withEnvironment({}, async (env) => {
    // The first start took effect (StartApplication sent), then its answer is an error no retry helps.
    let refusedOnce = false;
    const refused = ({ state }) => {
      if (state !== 'Start the application' || refusedOnce) return undefined;
      refusedOnce = true;
      return new FunctionError('AccessDenied', 'not allowed');
    };
    const up = await env.run('serverless-up', upInput('failing'), { injectAfter: refused });
    assert.equal(up.status, 'FAILED', explain(up));
    assert.equal(up.error, 'AccessDenied');
    const [app] = await applicationsOf(env, up);
    assert.equal(up.causeJson.applicationId, app.applicationId);
    assert.equal(app.state, 'TERMINATED', 'deleted');
    assert.equal(calls(up, 'CreateApplication'), 1);
    assert.equal(calls(up, 'DeleteApplication'), 1);
  });
});

test('serverless up stopped while its application starts: the stack\'s cleanup rule and the reconciler\'s next sweeps delete it', async () => {
  await withEnvironment({}, async (env) => {
    const stopWhen = ({ state }) => state === 'Start the application';
    const up = await env.run('serverless-up', upInput('stopped'), { stopWhen });
    assert.equal(up.status, 'ABORTED', explain(up));
    const [app] = await applicationsOf(env, up);
    const cleanup = up.cleanup.output;
    assert.deepEqual([...(cleanup.applicationsDeleted ?? []), ...(cleanup.applicationsEnding ?? [])], [app.applicationId], JSON.stringify(cleanup));
    for (let i = 0; i < 3 && (await application(env, app.applicationId)).state !== 'TERMINATED'; i += 1) {
      await env.advance(120);
      const sweep = await env.sweep();
      assert.equal(sweep.error, undefined, JSON.stringify(sweep.error));
    }
    assert.equal((await application(env, app.applicationId)).state, 'TERMINATED');
  });
});

test('serverless up of a ServerlessConfig that reuses an application is refused as InvalidConfig, creating and starting nothing', async () => {
  await withEnvironment({}, async (env) => {
    const reusing = JSON.parse(serverlessConfigText);
    delete reusing.data.application;
    reusing.data.applicationId = '00fabc123';
    const up = await env.run('serverless-up', { ...upInput('reuse'), cluster: JSON.stringify(reusing) });
    assert.equal(up.status, 'FAILED', explain(up));
    assert.equal(up.error, 'InvalidConfig');
    assert.match(up.causeJson.message, /up creates an application/);
    assert.equal(up.emrCalls.total, 0, 'nothing was called');
  });
});

test('serverless down of an application this stack\'s up did not create, or of a missing one, is refused (ClusterNotManaged), and so is a run on a foreign one', async () => {
  await withEnvironment({}, async (env) => {
    const foreign = await foreignApplication(env);
    const down = await env.run('serverless-down', { applicationId: foreign });
    assert.equal(down.status, 'FAILED', explain(down));
    assert.equal(down.error, 'ClusterNotManaged');
    assert.equal(down.causeJson.applicationId, foreign);
    for (const op of ['StopApplication', 'DeleteApplication', 'CancelJobRun']) assert.equal(calls(down, op), 0, op);
    assert.notEqual((await application(env, foreign)).state, 'TERMINATED');

    // A run-transient's own application is not up's either: down refuses it too.
    const stopWhen = ({ fn, attempt }) => fn === 'check-status' && attempt === 1;
    const transient = await env.run('serverless-run-transient', serverlessInput('transient', [step('Long', { seconds: 7200 })]), { stopWhen, lostEvents: ['terminate-cluster'] });
    const [theirs] = await applicationsOf(env, transient);
    const notUps = await env.run('serverless-down', { applicationId: theirs.applicationId });
    assert.equal(notUps.error, 'ClusterNotManaged', explain(notUps));

    const run = await env.run('serverless-run-transient', runOn(foreign, 'foreign', [step('Enrich')]));
    assert.equal(run.status, 'FAILED', explain(run));
    assert.equal(run.error, 'AccessDenied');
    assert.equal(calls(run, 'StartJobRun'), 0);
    assert.deepEqual((await application(env, foreign)).jobRuns, []);

    const missing = await env.run('serverless-down', { applicationId: '00fmissing' });
    assert.equal(missing.status, 'FAILED', explain(missing));
    // IAM refuses to read an application that does not exist (its tag conditions cannot hold): not this stack's.
    assert.equal(missing.error, 'ClusterNotManaged');
    assert.match(missing.causeJson.message, /or does not exist/);
  });
});

const serverless = (f) => join(examplesDir, 'serverless', f);
const SERVERLESS = ['--emr-config', serverless('config.json'), '--vars-file', serverless('vars.json')];

test('cli: up, run, run, down on one EMR Serverless application, exit 0 each, text and --output json', async () => {
  await withStack({}, async (server, env) => {
    const up = await cli(server, ['up', ...SERVERLESS, '--name', 'sls-up']);
    assert.equal(up.code, 0, up.stderr);
    const id = /Application ID: ([0-9a-z]+)/.exec(up.stdout)?.[1];
    assert.equal(up.stdout, `EMR Serverless application started; Application ID: ${id}\n`);
    assert.match(up.stderr, /started up on EMR Serverless \(arn:aws:states:eu-west-1:123456789012:execution:dataflow-runner-serverless-up:sls-up\)/);

    const pb = tempFile('playbook.json', playbook([step('Enrich')]));
    const run = await cli(server, ['run', ...SERVERLESS, '--emr-application', id, '--emr-playbook', pb]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, new RegExp(`^run-transient succeeded: EMR Serverless application ${id}, 1 of 1 job runs succeeded\n$`));
    const json = await cli(server, ['run', ...SERVERLESS, '--emr-application', id, '--emr-playbook', pb, '--output', 'json']);
    assert.equal(json.code, 0, json.stderr);
    const out = JSON.parse(json.stdout);
    assert.equal(out.status, 'SUCCEEDED');
    assert.equal(out.output.applicationId, id);
    assert.deepEqual(out.output.jobRuns.map((r) => r.state), ['SUCCESS']);
    const apps = await env.emulator.applications();
    assert.equal(apps.length, 1, 'the runs created no application');
    assert.equal(apps[0].jobRuns.length, 2);

    const down = await cli(server, ['down', '--emr-application', id, '--output', 'json']);
    assert.equal(down.code, 0, down.stderr);
    const gone = JSON.parse(down.stdout);
    assert.equal(gone.status, 'SUCCEEDED');
    assert.deepEqual(gone.output, { applicationId: id, deleted: true, cancelled: [] });
    assert.equal((await env.emulator.applications())[0].state, 'TERMINATED');
  });
});

test('cli: down of an application up did not create exits 1 (as down of a foreign cluster does) and leaves it; a held lock on run exits 17', async () => {
  await withStack({}, async (server, env) => {
    const up = await cli(server, ['up', ...SERVERLESS, '--output', 'json']);
    assert.equal(up.code, 0, up.stderr);
    const id = JSON.parse(up.stdout).output.applicationId;
    const pb = tempFile('playbook.json', playbook([step('Enrich')]));
    // A hard lock kept by a failed run keeps the next run from starting anything.
    const failing = tempFile('failing.json', playbook([step('Load', { fail: true })]));
    const failed = await cli(server, ['run', ...SERVERLESS, '--emr-application', id, '--emr-playbook', failing, '--lock', 'sls/nightly']);
    assert.equal(failed.code, 1, failed.stderr);
    const held = await cli(server, ['run', ...SERVERLESS, '--emr-application', id, '--emr-playbook', pb, '--lock', 'sls/nightly']);
    assert.equal(held.code, 17, held.stderr);
    assert.equal((await env.emulator.applications())[0].jobRuns.length, 1, 'the held run started no job run');

    const refused = await cli(server, ['down', '--emr-application', '00fnotours']);
    assert.equal(refused.code, 1, refused.stderr);
    assert.match(refused.stderr, /down failed: ClusterNotManaged/);
    const down = await cli(server, ['down', '--emr-application', id]);
    assert.equal(down.code, 0, down.stderr);
    assert.equal(down.stdout, `EMR Serverless application deleted: ${id}\n`);
  });
});
