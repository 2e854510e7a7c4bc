// Step Functions' 256 KiB limit on every state's data, enforced by the harness as AWS enforces it
// (States.DataLimitExceeded): the runs that come closest to it still fit, because the functions keep their
// answers within budgets and say what they cut.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PAYLOAD_LIMIT } from '../lib/harness.mjs';
import { assertNothingLeftRunning, explain, playbook, sparkClusterText, step, varsFor, withEnvironment } from './support.mjs';

const bytes = (v) => Buffer.byteLength(JSON.stringify(v ?? null), 'utf8');

/** The largest state data the execution carried, and where. */
function largestState(report) {
  let largest = { size: 0 };
  for (const e of report.events) {
    for (const [what, data] of [['input', e.state?.input], ['output', e.state?.output]]) {
      const size = bytes(data);
      if (data !== undefined && size > largest.size) largest = { size, where: `${e.state.name} ${what}` };
    }
  }
  return largest;
}

for (const completion of ['events', 'poll']) test(`256 steps, each failing with a 4 KB message and a long name (${completion}): the run fails as StepFailed, within the limit, saying what was cut`, async () => {
  const name = (i) => `Step ${String(i).padStart(3, '0')} ${'of a very long pipeline with a descriptive name '.repeat(4)}`.slice(0, 250);
  const longFailure = { failureReason: 'java.lang.RuntimeException', failureMessage: 'Caused by: '.padEnd(4096, 'x') };
  const scenario = { steps: [{ match: { nameContains: 'Step ' }, outcome: 'FAILED', durationSeconds: 60, ...longFailure }] };
  await withEnvironment({ scenario }, async (env) => {
    const steps = Array.from({ length: 256 }, (_, i) => ({ ...step(name(i), { seconds: 60, action: 'CONTINUE' }), arguments: ['spark-submit', 's3://acme-data/jars/x.jar'] }));
    const report = await env.run('run-transient', { cluster: sparkClusterText, playbook: playbook(steps), vars: varsFor('many-steps'), options: { completion } });
    assert.equal(report.status, 'FAILED', explain(report));
    assert.equal(report.error, 'StepFailed', explain(report));
    const largest = largestState(report);
    assert.ok(largest.size <= PAYLOAD_LIMIT, `${largest.where}: ${largest.size}`);
    // The status the run was judged on: a poll's answer, or what event-router sent the waiting run.
    const last = report.events.filter((e) => e.type === 'StateEntered' && e.state.name === 'Is the run finished?').at(-1).state.input.status;
    assert.equal(last.steps.length + 0 > 0, true);
    assert.match(last.truncated, /cut/, 'the answer says what it left out');
    assert.ok(report.cause.length <= 32768, `the Cause is ${report.cause.length} characters (Step Functions keeps 32,768)`);
    assert.ok(report.causeJson.moreFailedSteps > 0, 'the cause says how many more steps failed');
    await assertNothingLeftRunning(env, report);
  });
});

test('large inline files: over the input budget, refused before launching with the fix; under it, the run succeeds within the limit', async () => {
  await withEnvironment({}, async (env) => {
    const readsTwoFiles = playbook([
      { ...step('Shred', { seconds: 600 }), arguments: ['--resolver', '{{base64File `/etc/resolver.json`}}', '--config', '{{base64File `/etc/config.hocon`}}'] },
    ]);
    const input = (kib) => ({
      cluster: sparkClusterText,
      playbook: readsTwoFiles,
      vars: varsFor(`files-${kib}`),
      files: { '/etc/resolver.json': 'r'.repeat(kib * 512), '/etc/config.hocon': 'c'.repeat(kib * 512) },
    });
    const big = await env.run('run-transient', input(200));
    assert.equal(big.status, 'FAILED', explain(big));
    assert.equal(big.error, 'InvalidConfig');
    assert.match(big.causeJson.message, /more than the 160 KiB .* s3:\/\/ URIs/s);
    assert.deepEqual(big.launchedClusterIds, []);

    const fits = await env.run('run-transient', input(150));
    assert.equal(fits.status, 'SUCCEEDED', explain(fits));
    const largest = largestState(fits);
    assert.ok(largest.size <= PAYLOAD_LIMIT && largest.size > 150 * 1024, `${largest.where}: ${largest.size}`);
  });
});

test('the harness fails an execution whose state data passes 256 KiB with States.DataLimitExceeded, as AWS does', async () => {
  await withEnvironment({}, async (env) => {
    // A Pass state that doubles its input until it is too large: only the harness's check can stop it.
    const definition = {
      StartAt: 'Grow',
      States: {
        Grow: { Type: 'Pass', Parameters: { 'a.$': '$', 'b.$': '$' }, Next: 'Grow again' },
        'Grow again': { Type: 'Pass', Parameters: { 'a.$': '$', 'b.$': '$' }, Next: 'Done' },
        Done: { Type: 'Succeed' },
      },
    };
    const report = await env.run('run-transient', { blob: 'x'.repeat(100 * 1024) }, { definition });
    assert.equal(report.status, 'FAILED');
    assert.equal(report.error, 'States.DataLimitExceeded');
    assert.match(report.cause, /Grow again/);
    await assert.rejects(env.run('run-transient', { blob: 'x'.repeat(300 * 1024) }, { definition }), { name: 'ValidationException' });
  });
});
