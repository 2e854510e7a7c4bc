// Run locks (the original's --lock / --softLock) through the real definitions, the real lock function and the
// stack's lock table in a real DynamoDB implementation (moto's, created as infra/template.yaml declares it, behind
// the deployed IAM), with the stack's rules delivering the end of every execution: the race, the release paths,
// the lease, the IAM.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadDefinition } from '../lib/definitions.mjs';
import { plain } from '../lib/dynamodb.mjs';
import { FunctionError } from '../lib/harness.mjs';
import { repoRoot } from '../lib/paths.mjs';
import { accessKeyOf, LOCK_OPERATOR_ACCESS_KEY } from '../lib/stack.mjs';
import { assertNothingLeftRunning, explain, path, playbook, sparkClusterText, step, varsFor, withEnvironment, withoutStatement } from './support.mjs';

const LOCK = 'snowplow/enrich';
const TEMPLATE = readFileSync(join(repoRoot, 'infra', 'template.yaml'), 'utf8');

/** A run-transient input holding `kind` lock LOCK. */
function locked(tag, kind, steps = [step('Enrich', { seconds: 1800 })], extra = {}) {
  return { cluster: sparkClusterText, playbook: playbook(steps), vars: varsFor(tag), lock: { name: LOCK, kind }, ...extra };
}

/** The lock's item, read as the operator would (plain values). */
async function lockItem(env, name = LOCK) {
  const { Item } = await env.locks('GetItem', { Key: { lockName: { S: name } }, ConsistentRead: true }, LOCK_OPERATOR_ACCESS_KEY);
  return plain(Item);
}

/** What the acquire answered in `report` (its last answer that reached the execution). */
function acquired(report) {
  return report.invocations.filter((i) => i.state === 'Acquire the lock' && i.output && !i.error).at(-1)?.output;
}

function assertLockHeld(report, holder) {
  assert.equal(report.status, 'FAILED', explain(report));
  assert.equal(report.error, 'LockHeld', explain(report));
  assert.equal(report.causeJson.lock, LOCK);
  assert.equal(report.causeJson.holder.owner, holder.executionArn, 'the cause names the holder');
  assert.match(report.causeJson.holder.acquiredAt, /^\d{4}-\d\d-\d\dT/, 'and since when');
  assert.ok(report.causeJson.message.includes(holder.executionArn), report.causeJson.message);
  assert.deepEqual(report.invocations.map((i) => i.fn), ['lock'], 'nothing but the acquire ran: nothing launched');
  assert.deepEqual(report.lockCleanup.output, { released: [], kept: [], notOwned: [] }, 'its end touches no lock');
}

async function assertFreeFor(env, tag, kind = 'soft') {
  const next = await env.run('run-transient', locked(tag, kind));
  assert.equal(next.status, 'SUCCEEDED', explain(next));
  assert.equal(acquired(next).acquired, true);
  assert.equal((await lockItem(env)).state, 'released');
  return next;
}

test('lock race: 20 executions started at once for one lock, exactly one acquires and launches, the others end LockHeld having launched nothing', async () => {
  await withEnvironment({}, async (env) => {
    const input = locked('race', 'hard');
    const reports = await Promise.all(Array.from({ length: 20 }, (_, i) => env.run('run-transient', input, { name: `nightly-race-${i}` })));
    const winners = reports.filter((r) => r.status === 'SUCCEEDED');
    assert.equal(winners.length, 1, reports.map(explain).join('\n'));
    const [winner] = winners;
    for (const r of reports.filter((x) => x !== winner)) assertLockHeld(r, winner);
    assert.equal((await env.clusters()).length, 1, 'one cluster between them');
    assert.ok(env.functions.lock.instances.length > 1, 'the acquires ran at the same time, in several instances');
    const item = await lockItem(env);
    assert.equal(item.state, 'released', 'the winner released it when it succeeded');
    assert.equal(item.owner, winner.executionArn);
  });
});

test('two overlapping scheduled runs with one lock launch one cluster between them; the second ends LockHeld naming the first', async () => {
  await withEnvironment({}, async (env) => {
    let second;
    const first = await env.run('run-transient', locked('overlap', 'hard', [step('Enrich', { seconds: 7200 })]), {
      name: 'nightly-2026-11-24',
      // The next night's tick comes while the first run is still going.
      beforeTask: async ({ fn, attempt, env: e }) => {
        if (fn === 'check-status' && attempt === 3) second = await e.run('run-transient', locked('overlap', 'hard'), { name: 'nightly-2026-11-25' });
      },
    });
    assert.equal(first.status, 'SUCCEEDED', explain(first));
    assertLockHeld(second, first);
    assert.deepEqual(second.emrCalls.operations.RunJobFlow ?? { calls: 0 }, { calls: 0 }, 'no RunJobFlow from the second');
    assert.equal((await env.clusters()).length, 1);
    await assertFreeFor(env, 'overlap-next', 'hard');
  });
});

test('hard lock: kept after a failure with the failing execution and its error, it blocks the next run until released by hand', async () => {
  await withEnvironment({}, async (env) => {
    const failing = await env.run('run-transient', locked('hard-fail', 'hard', [step('Enrich', { fail: true, reason: 'OutOfMemory' })]));
    assert.equal(failing.status, 'FAILED', explain(failing));
    assert.equal(failing.error, 'StepFailed');
    const kept = await lockItem(env);
    assert.equal(kept.state, 'failed');
    assert.equal(kept.owner, failing.executionArn);
    assert.equal(kept.failureError, 'StepFailed');
    assert.match(kept.failureCause, /OutOfMemory/, 'its cause, for whoever looks');
    assert.equal(kept.leaseExpiresAt, undefined, 'a kept hard lock does not expire');
    assert.equal(kept.expiresAt, undefined, 'and has no TTL');
    assert.deepEqual(failing.lockCleanup.output.kept, [LOCK], "the stack's rule keeps it too");

    const blocked = await env.run('run-transient', locked('hard-blocked', 'hard'));
    assertLockHeld(blocked, failing);
    assert.equal(blocked.causeJson.holder.state, 'failed');
    assert.equal(blocked.causeJson.holder.failure.error, 'StepFailed');
    assert.match(blocked.causeJson.message, /lock release snowplow\/enrich/, 'the cause says how to clear it');

    // Someone looks, then releases it (by hand here: what infra/README.md "Locks" shows with the AWS CLI).
    await env.locks(
      'DeleteItem',
      {
        Key: { lockName: { S: LOCK } },
        ConditionExpression: '#owner = :owner AND #state = :failed',
        ExpressionAttributeNames: { '#owner': 'owner', '#state': 'state' },
        ExpressionAttributeValues: { ':owner': { S: failing.executionArn }, ':failed': { S: 'failed' } },
      },
      LOCK_OPERATOR_ACCESS_KEY,
    );
    await assertFreeFor(env, 'hard-after', 'hard');
  });
});

test("hard lock: a stopped run keeps it too, with ABORTED recorded by the stack's lock rule", async () => {
  await withEnvironment({}, async (env) => {
    const stopped = await env.run('run-transient', locked('hard-stop', 'hard', [step('Long', { seconds: 7200 })]), {
      stopWhen: ({ fn, attempt }) => fn === 'check-status' && attempt === 3,
    });
    assert.equal(stopped.status, 'ABORTED', explain(stopped));
    assert.deepEqual(stopped.lockCleanup.output.kept, [LOCK]);
    const kept = await lockItem(env);
    assert.equal(kept.state, 'failed');
    assert.equal(kept.failureError, 'ABORTED');
    await assertNothingLeftRunning(env, stopped);
    assertLockHeld(await env.run('run-transient', locked('hard-stop-next', 'hard')), stopped);
  });
});

test('soft lock: released after success', async () => {
  await withEnvironment({}, async (env) => {
    const ok = await env.run('run-transient', locked('soft-ok', 'soft'));
    assert.equal(ok.status, 'SUCCEEDED', explain(ok));
    assert.ok(path(ok).includes('Release the lock'));
    const item = await lockItem(env);
    assert.equal(item.state, 'released');
    assert.equal(item.releasedBy, 'run', 'by its own last state');
    assert.ok(item.expiresAt > Date.parse(item.releasedAt) / 1000, 'its record expires later (TTL)');
    assert.deepEqual(ok.lockCleanup.output.notOwned, [LOCK], "the stack's rule finds it released already");
    await assertFreeFor(env, 'soft-ok-next');
  });
});

test('soft lock: released after a failure', async () => {
  await withEnvironment({}, async (env) => {
    const failed = await env.run('run-transient', locked('soft-fail', 'soft', [step('Enrich', { fail: true })]));
    assert.equal(failed.error, 'StepFailed', explain(failed));
    assert.ok(path(failed).includes('Release or keep the lock'));
    const item = await lockItem(env);
    assert.equal(item.state, 'released');
    assert.match(item.releaseReason, /StepFailed/);
    await assertNothingLeftRunning(env, failed);
    await assertFreeFor(env, 'soft-fail-next');
  });
});

test('soft lock: released after the execution is stopped (abort)', async () => {
  await withEnvironment({}, async (env) => {
    const stopped = await env.run('run-transient', locked('soft-stop', 'soft', [step('Long', { seconds: 7200 })]), {
      stopWhen: ({ fn, attempt }) => fn === 'check-status' && attempt === 3,
    });
    assert.equal(stopped.status, 'ABORTED', explain(stopped));
    assert.deepEqual(stopped.lockCleanup.output.released, [LOCK], "released by the stack's lock rule");
    assert.equal((await lockItem(env)).releasedBy, 'cleanup');
    await assertNothingLeftRunning(env, stopped);
    await assertFreeFor(env, 'soft-stop-next');
  });
});

test('soft lock: released when the execution is stopped while its acquire is in flight', async () => {
  await withEnvironment({}, async (env) => {
    const stopped = await env.run('run-transient', locked('soft-stop-acquire', 'soft'), {
      stopWhen: ({ fn }) => fn === 'lock',
    });
    assert.equal(stopped.status, 'ABORTED', explain(stopped));
    assert.equal((await lockItem(env)).state, 'released', 'the rule found the late lock');
    assert.equal((await env.clusters()).length, 0);
    await assertFreeFor(env, 'soft-stop-acquire-next');
  });
});

test('soft lock: released after the execution times out', async () => {
  await withEnvironment({}, async (env) => {
    const definition = { ...loadDefinition('run-transient'), TimeoutSeconds: 7200 };
    const input = locked('soft-timeout', 'soft', [step('Long', { seconds: 86400 })]);
    const timedOut = await env.run('run-transient', input, { definition });
    assert.equal(timedOut.status, 'TIMED_OUT', explain(timedOut));
    assert.deepEqual(timedOut.lockCleanup.output.released, [LOCK]);
    assert.match((await lockItem(env)).releaseReason, /TIMED_OUT/);
    await assertNothingLeftRunning(env, timedOut);
    await assertFreeFor(env, 'soft-timeout-next');
  });
});

test('stale lease: a lock whose owner is gone without a release is taken over by the next run once its lease has ended', async () => {
  await withEnvironment({}, async (env) => {
    // The owner is stopped and the end of its execution never reaches the lock function (a lost event, a deleted
    // stack). Its lease is the deployed one (the execution timeout plus an hour); its end is then moved into the
    // past in the table, as the passing of that time would, so nothing here depends on how fast the machine is.
    const gone = await env.run('run-transient', locked('stale', 'soft', [step('Long', { seconds: 7200 })]), {
      stopWhen: ({ fn, attempt }) => fn === 'check-status' && attempt === 2,
      lostEvents: ['lock'],
    });
    assert.equal(gone.status, 'ABORTED', explain(gone));
    assert.equal(gone.lockCleanup, undefined, 'the event was lost');
    assert.ok(Date.parse(acquired(gone).leaseExpiresAt) > Date.parse(acquired(gone).acquiredAt) + 3600_000, 'a lease of hours');
    assertLockHeld(await env.run('run-transient', locked('stale-early', 'soft')), gone);

    // As the operator may (GetItem and PutItem): the same item, its lease ended long ago.
    const { Item } = await env.locks('GetItem', { Key: { lockName: { S: LOCK } }, ConsistentRead: true }, LOCK_OPERATOR_ACCESS_KEY);
    await env.locks('PutItem', { Item: { ...Item, leaseExpiresAt: { N: '1' } } }, LOCK_OPERATOR_ACCESS_KEY);
    const next = await env.run('run-transient', locked('stale-late', 'soft'));
    assert.equal(next.status, 'SUCCEEDED', explain(next));
    assert.equal(acquired(next).tookOverFrom, gone.executionArn, 'taken over from the owner that was gone');
    const item = await lockItem(env);
    assert.equal(item.owner, next.executionArn);
    assert.equal(item.tookOverFrom, gone.executionArn);
  });
});

test("lost release: a release that never reached the table is done by the stack's lock rule when the execution ends", async () => {
  await withEnvironment({}, async (env) => {
    const unreachable = ({ fn, state }) =>
      fn === 'lock' && state === 'Release the lock' && new FunctionError('Lambda.Unknown', 'the lock function crashed');
    const ok = await env.run('run-transient', locked('lost-release', 'hard'), { inject: unreachable });
    assert.equal(ok.status, 'SUCCEEDED', 'the run succeeded, whatever became of its release');
    assert.ok(ok.invocations.filter((i) => i.state === 'Release the lock').every((i) => i.error), 'every release was lost');
    assert.deepEqual(ok.lockCleanup.output.released, [LOCK]);
    const item = await lockItem(env);
    assert.equal(item.state, 'released');
    assert.equal(item.releasedBy, 'cleanup');
    await assertFreeFor(env, 'lost-release-next', 'hard');
  });
});

test('acquire is idempotent per execution: a retried acquire whose answer was lost, and every Task run twice, get the execution its own lock', async () => {
  await withEnvironment({}, async (env) => {
    const lost = ({ fn, state, attempt }) =>
      fn === 'lock' && state === 'Acquire the lock' && attempt === 1 && new FunctionError('Sandbox.Timedout', 'timed out after writing');
    const retried = await env.run('run-transient', locked('idem-retry', 'hard'), { injectAfter: lost });
    assert.equal(retried.status, 'SUCCEEDED', explain(retried));
    assert.equal(acquired(retried).alreadyHeld, true, 'the retry found the lock its lost answer had taken');
    assert.equal((await lockItem(env)).state, 'released');

    const twice = await env.run('run-transient', locked('idem-twice', 'soft'), { repeatTasks: true });
    assert.equal(twice.status, 'SUCCEEDED', explain(twice));
    const acquire = twice.invocations.find((i) => i.state === 'Acquire the lock');
    assert.equal(acquire.firstOutput.alreadyHeld, false);
    assert.equal(acquire.output.alreadyHeld, true);
    assert.equal(acquire.output.acquiredAt, acquire.firstOutput.acquiredAt, 'held since the first acquire');
    assert.equal((await env.clusters()).length, 2, 'one cluster per run');
  });
});

test('up holds its lock until the cluster is up; run holds it until its steps end, and refuses a lock with async', async () => {
  await withEnvironment({}, async (env) => {
    const lock = { name: 'shared-cluster', kind: 'soft' };
    const up = await env.run('up', { cluster: sparkClusterText, vars: varsFor('locked-up'), lock });
    assert.equal(up.status, 'SUCCEEDED', explain(up));
    assert.ok(path(up).indexOf('Acquire the lock') < path(up).indexOf('Launch cluster'));
    assert.equal((await lockItem(env, lock.name)).state, 'released');
    const { clusterId } = up.output;

    const run = await env.run('run', { clusterId, playbook: playbook([step('Enrich', { seconds: 600 })]), lock: { name: LOCK } });
    assert.equal(run.status, 'SUCCEEDED', explain(run));
    assert.equal(acquired(run).kind, 'hard', 'a lock without a kind is hard, as --lock');
    assert.ok(path(run).indexOf('Acquire the lock') < path(run).indexOf('Add steps'));
    assert.equal((await lockItem(env)).state, 'released');

    const asynchronous = await env.run('run', { clusterId, playbook: playbook([step('Enrich')]), lock: { name: LOCK }, options: { async: true } });
    assert.equal(asynchronous.error, 'InvalidConfig', explain(asynchronous));
    assert.match(asynchronous.causeJson.message, /options\.async/);
    assert.deepEqual(asynchronous.invocations.map((i) => i.fn), ['lock'], 'no steps added');
    await env.run('down', { clusterId });
  });
});

test('IAM: only the lock function reaches the lock table, an operator with LockOperatorPolicy can see and clear locks, and each statement of the lock role is needed', async () => {
  await withEnvironment({}, async (env) => {
    await env.run('run-transient', locked('iam', 'soft'));
    for (const fn of ['launch-cluster', 'add-steps', 'check-status', 'terminate-cluster']) {
      await assert.rejects(env.locks('GetItem', { Key: { lockName: { S: LOCK } } }, accessKeyOf(fn)), { name: 'AccessDeniedException' }, fn);
    }
    assert.equal((await env.locks('Scan', {}, LOCK_OPERATOR_ACCESS_KEY)).Items.length, 1);
    await assert.rejects(env.locks('DeleteTable', {}, LOCK_OPERATOR_ACCESS_KEY), { name: 'AccessDeniedException' });
    await assert.rejects(env.locks('Scan', {}, accessKeyOf('lock')), { name: 'AccessDeniedException' }, 'the function cannot list');
  });
  await withEnvironment({ template: withoutStatement(TEMPLATE, 'AcquireAndEndLocks') }, async (env) => {
    const denied = await env.run('run-transient', locked('iam-acquire', 'soft'));
    assert.equal(denied.error, 'AccessDenied', explain(denied));
    assert.match(denied.causeJson.message, /dynamodb:PutItem/);
    assert.deepEqual(denied.invocations.map((i) => i.fn), ['lock'], 'nothing launched');
  });
  await withEnvironment({ template: withoutStatement(TEMPLATE, 'FindLocksOfAnExecution') }, async (env) => {
    const stopped = await env.run('run-transient', locked('iam-query', 'soft', [step('Long', { seconds: 7200 })]), {
      stopWhen: ({ fn, attempt }) => fn === 'check-status' && attempt === 2,
    });
    assert.equal(stopped.lockCleanup.error.name, 'AccessDenied', JSON.stringify(stopped.lockCleanup));
    assert.match(stopped.lockCleanup.error.message, /dynamodb:Query/);
    assert.equal((await lockItem(env)).state, 'held', 'without it, a stopped run keeps its lock until the lease ends');
  });
});

/** A step someone else adds to the cluster by hand (not the run's): it must never be cancelled by the run. */
async function addOtherStep(env, clusterId) {
  const { StepIds } = await env.emrAsOperator('AddJobFlowSteps', {
    JobFlowId: clusterId,
    Steps: [{ Name: 'Ad hoc query', ActionOnFailure: 'CONTINUE', HadoopJarStep: { Jar: 'command-runner.jar', Args: ['hive', '--emulator-duration=86400'] } }],
  });
  return StepIds[0];
}

/** The cluster's steps by id → state, after `seconds` more of virtual time (a cancellation takes a few). */
async function stepStates(env, clusterId, seconds = 60) {
  await env.advance(seconds);
  const { Steps } = await env.emrAsOperator('ListSteps', { ClusterId: clusterId });
  return Object.fromEntries(Steps.map((s) => [s.Id, s.Status.State]));
}

/**
 * A locked `run` of two day-long steps on an `up` cluster, someone else's step queued behind them, that gives up on
 * its steps: with `options` (e.g. a short timeoutSeconds) and `harness` options (e.g. failing checks).
 */
async function runThatGivesUp(env, tag, kind, options, harness = {}) {
  const up = await env.run('up', { cluster: sparkClusterText, vars: varsFor(tag) });
  assert.equal(up.status, 'SUCCEEDED', explain(up));
  const { clusterId } = up.output;
  let other;
  const run = await env.run(
    'run',
    { clusterId, playbook: playbook([step('Enrich', { seconds: 86400 }), step('Shred', { seconds: 86400 })]), lock: { name: LOCK, kind }, options },
    {
      ...harness,
      beforeTask: async ({ fn }) => {
        if (fn === 'check-status' && !other) other = await addOtherStep(env, clusterId);
      },
    },
  );
  const added = run.invocations.find((i) => i.state === 'Add steps' && i.output)?.output.stepIds;
  assert.equal(added?.length, 2, explain(run));
  return { run, clusterId, added, other };
}

/** The run cancelled both of its steps (the running one interrupted) before its lock ended, and no other step. */
async function assertCancelledBeforeTheLockEnded(env, { run, clusterId, added, other }) {
  const p = path(run);
  assert.ok(p.includes("Cancel this run's steps"), explain(run));
  assert.ok(p.indexOf("Cancel this run's steps") < p.indexOf('Release or keep the lock'), 'the steps are cancelled before the lock ends');
  const { cancellation } = run.causeJson;
  assert.deepEqual(
    cancellation.cancelled,
    [
      { stepId: added[0], state: 'RUNNING' },
      { stepId: added[1], state: 'PENDING' },
    ],
    run.cause,
  );
  assert.deepEqual(cancellation.notCancelled, []);
  assert.match(cancellation.message, new RegExp(`Cancelled this run's steps ${added[0]} \\(RUNNING\\), ${added[1]} \\(PENDING\\)`));
  const states = await stepStates(env, clusterId);
  assert.equal(states[added[0]], 'CANCELLED', 'the running step was interrupted');
  assert.equal(states[added[1]], 'CANCELLED', 'the pending step was cancelled');
  assert.equal(states[other], 'RUNNING', "someone else's step is untouched (and runs once the run's steps are gone)");
}

test("run: a locked run that times out cancels its own running and pending steps before it releases the lock, leaves other steps alone, and says so in the Cause", async () => {
  await withEnvironment({}, async (env) => {
    const given = await runThatGivesUp(env, 'timeout-cancel', 'soft', { timeoutSeconds: 3600 });
    assert.equal(given.run.status, 'FAILED', explain(given.run));
    assert.equal(given.run.error, 'Timeout', explain(given.run));
    assert.ok(given.run.causeJson.cost?.instanceHours > 0, 'the Cause carries the cost of the run so far');
    await assertCancelledBeforeTheLockEnded(env, given);
    assert.equal((await lockItem(env)).state, 'released');
    await env.run('down', { clusterId: given.clusterId });
  });
});

test('run: a locked run whose status cannot be read (failed checks spent) cancels its own steps before it keeps its hard lock', async () => {
  await withEnvironment({}, async (env) => {
    const failing = ({ fn }) => fn === 'check-status' && new FunctionError('Lambda.Unknown', 'Lambda.Unknown: the function did not finish');
    const given = await runThatGivesUp(env, 'unknown-cancel', 'hard', { maxFailedChecks: 2 }, { inject: failing });
    assert.equal(given.run.error, 'StatusUnknown', explain(given.run));
    await assertCancelledBeforeTheLockEnded(env, given);
    const kept = await lockItem(env);
    assert.equal(kept.state, 'failed');
    assert.match(kept.failureCause, /Cancelled this run's steps/, 'the kept lock records what was cancelled');
    await env.run('down', { clusterId: given.clusterId });
  });
});

test('IAM: without CancelSteps the cancellation is refused (AccessDenied), and the run still ends with its own error and ends its lock', async () => {
  await withEnvironment({ template: withoutStatement(TEMPLATE, 'CancelStepsOnThisStacksClustersOnly') }, async (env) => {
    const { run, clusterId, added } = await runThatGivesUp(env, 'timeout-denied', 'hard', { timeoutSeconds: 3600 });
    assert.equal(run.error, 'Timeout', explain(run));
    assert.equal(run.causeJson.cancellation.error, 'AccessDenied', run.cause);
    assert.match(run.causeJson.cancellation.message, /elasticmapreduce:CancelSteps/);
    assert.match(run.causeJson.cancellation.note, /may still be running/);
    const kept = await lockItem(env);
    assert.equal(kept.state, 'failed', 'the hard lock is kept, with the failure');
    assert.equal(kept.failureError, 'Timeout');
    assert.equal((await stepStates(env, clusterId))[added[0]], 'RUNNING', 'nothing was cancelled');
    await env.run('down', { clusterId });
  });
});
