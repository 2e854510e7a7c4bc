// What a run cost (statemachine/README.md, "What a run cost"), end to end: the real definitions, the real
// check-status reading EMR's record of each instance (ListInstances, ListInstanceGroups, DescribeCluster) and the
// AWS Price List and spot history from the emulator's committed price fixture, under the deployed IAM. The expected
// figures are computed here by hand from the emulator's own timeline and the fixture, not typed in.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { repoRoot } from '../lib/paths.mjs';
import { accessKeyOf } from '../lib/stack.mjs';
import { assertNothingLeftRunning, clusterById, explain, playbook, runEndLines, sparkClusterText, step, varsFor, withEnvironment } from './support.mjs';

const FIXTURE = JSON.parse(readFileSync(join(repoRoot, 'crates', 'emr-emulator', 'fixtures', 'prices.json'), 'utf8'));
const REGION = 'eu-west-1';

function input(env, steps, options) {
  return { cluster: sparkClusterText, playbook: playbook(steps), vars: varsFor(env), ...(options ? { options } : {}) };
}

/** Every page of an EMR list call, as another principal of the account. */
async function all(env, operation, body, key) {
  const items = [];
  let marker;
  do {
    const page = await env.emrAsOperator(operation, { ...body, ...(marker ? { Marker: marker } : {}) }, REGION);
    items.push(...page[key]);
    marker = page.Marker;
  } while (marker);
  return items;
}

/**
 * The cost of a cluster as AWS bills EMR on EC2, from EMR's record and the fixture's prices:
 *   seconds(instance) = max(60, ceil(end − creation))                       per second, one-minute minimum
 *   usd(instance)     = seconds / 3600 × (EC2 on-demand or newest spot in the zone + EMR uplift)
 *                     + Σ volumes: GiB × seconds / 3600 × (USD per GB-month / 730)
 */
async function handComputed(env, clusterId) {
  const cluster = (await env.emrAsOperator('DescribeCluster', { ClusterId: clusterId }, REGION)).Cluster;
  const zone = cluster.Ec2InstanceAttributes.Ec2AvailabilityZone;
  const groups = await all(env, 'ListInstanceGroups', { ClusterId: clusterId }, 'InstanceGroups');
  const instances = await all(env, 'ListInstances', { ClusterId: clusterId }, 'Instances');
  const type = (t) => FIXTURE.instanceTypes.find((x) => x.instanceType === t);
  const ebs = (v) => Number(FIXTURE.ebsVolumes.find((x) => x.volumeApiName === v).usdPerGbMonth[REGION]);
  let seconds = 0;
  let usd = 0;
  for (const i of instances) {
    const t = i.Status.Timeline;
    const s = Math.max(60, Math.ceil(t.EndDateTime - t.CreationDateTime));
    const hourly = i.Market === 'SPOT' ? Number(FIXTURE.spot.prices[zone][i.InstanceType][0]) : Number(type(i.InstanceType).ec2[REGION]);
    const uplift = Number(type(i.InstanceType).emr[REGION]);
    const group = groups.find((g) => g.Id === i.InstanceGroupId);
    const volumes = (group.EbsBlockDevices ?? []).map((d) => d.VolumeSpecification);
    seconds += s;
    usd += (s / 3600) * (hourly + uplift);
    for (const v of volumes) usd += ((v.SizeInGB * s) / 3600) * (ebs(v.VolumeType) / 730);
  }
  return { instances: instances.length, seconds, usd, normalized: cluster.NormalizedInstanceHours, spot: instances.some((i) => i.Market === 'SPOT') };
}

test('cost: the reference run reports the cost a hand computation from the instance timeline and the fixture prices gives', async () => {
  await withEnvironment({}, async (env) => {
    const report = await env.run('run-transient', input('cost', [step('Enrich', { seconds: 1800 }), step('Load', { seconds: 600 })]));
    assert.equal(report.status, 'SUCCEEDED', explain(report));
    const cost = report.output.cost;
    const want = await handComputed(env, report.output.clusterId);
    // The example cluster: an m5.xlarge master, two r5.2xlarge cores with 200 GiB gp3 each, four r5.2xlarge spot tasks.
    assert.equal(want.instances, 7);
    assert.ok(want.spot);
    assert.equal(cost.final, true);
    assert.equal(cost.estimate, true);
    assert.equal(cost.billedSeconds, want.seconds);
    assert.equal(cost.instanceHours, Math.round((want.seconds / 3600) * 1e4) / 1e4);
    // Each figure is rounded to 4 decimals from the exact amount; this sum in binary floating point may differ from
    // that exact amount in the last place only.
    assert.ok(Math.abs(cost.usd - want.usd) <= 0.0001, `${cost.usd} vs ${want.usd}`);
    assert.equal(cost.usdIsLowerBound, false);
    assert.deepEqual(cost.unpriced, []);
    assert.equal(cost.normalizedInstanceHours, want.normalized);
    assert.ok(cost.leavesOut.includes('data transfer'));
    assert.deepEqual(
      cost.byInstanceType.map((l) => `${l.instanceType} ${l.market} ${l.instances}`).sort(),
      ['m5.xlarge ON_DEMAND 1', 'r5.2xlarge ON_DEMAND 2', 'r5.2xlarge SPOT 4'],
    );
    // The run-end line the dashboard's table of the last runs reads: written by the check that found the run over
    // (waiting for events, event-router's check of the request the wait stored), naming this execution.
    const ends = runEndLines(env, report.output.clusterId);
    assert.ok(ends.length > 0, 'a run-end line');
    for (const { line } of ends) {
      assert.deepEqual([line.Execution, line.Outcome, line.Command, line.RunCostUsd], [report.executionArn, 'SUCCEEDED', 'run-transient', cost.usd]);
    }
    await assertNothingLeftRunning(env, report);
  });
});

test('cost: a run over its instance-hour budget ends BudgetExceeded, with the spend and the limit, and no cluster left', async () => {
  await withEnvironment({}, async (env) => {
    // Seven instances pass 2 instance-hours within the first 20 minutes of a 5-hour step.
    const report = await env.run('run-transient', input('budget', [step('Enrich', { seconds: 18000 })], { maxInstanceHours: 2, completion: 'poll' }));
    assert.equal(report.status, 'FAILED', explain(report));
    assert.equal(report.error, 'BudgetExceeded', explain(report));
    const cause = JSON.parse(report.cause);
    assert.equal(cause.overrun.exceeded[0].option, 'maxInstanceHours');
    assert.equal(cause.overrun.exceeded[0].limit, 2);
    assert.ok(cause.overrun.exceeded[0].spent > 2, JSON.stringify(cause.overrun));
    assert.match(cause.overrun.message, /limit 2/);
    assert.equal(cause.cost.final, false, 'the cost so far, the cluster still running when judged');
    // Polling, check-status itself writes the run-end line, naming this execution.
    const ends = runEndLines(env, cause.clusterId);
    assert.deepEqual(ends.map(({ fn, line }) => [fn, line.Execution, line.Outcome, line.BudgetExceeded]), [['check-status', report.executionArn, 'BudgetExceeded', 1]]);
    await assertNothingLeftRunning(env, report);
  });
});

test('cost: a budget is judged in time while the run waits for EMR\'s events: the run ends soon after the spend passes the limit', async () => {
  await withEnvironment({}, async (env) => {
    // Waiting for events (the default), a 5-hour step brings no event for hours: the checks that judge the budget
    // come before the spend can reach it (half the time at its rate so far), not at the hour-long backstops.
    const report = await env.run('run-transient', input('budget-events', [step('Enrich', { seconds: 18000 })], { maxInstanceHours: 2 }));
    assert.equal(report.error, 'BudgetExceeded', explain(report));
    const [exceeded] = JSON.parse(report.cause).overrun.exceeded;
    // Seven instances spend 7 instance-hours an hour: a backstop an hour after the cluster started would find about
    // 8; a check within two minutes of the limit finds at most 2 + 7 × 2/60.
    assert.ok(exceeded.spent > 2 && exceeded.spent <= 2 + (7 * 2) / 60, JSON.stringify(exceeded));
    assert.equal(report.callbackWaits.length > 0, true, 'the run waited for events');
    await assertNothingLeftRunning(env, report);
  });
});

/** The wait table's note of the run that left `clusterId` unfinished, as event-router's role reads it. */
async function unfinishedNote(env, clusterId) {
  const { Item } = await env.waits('GetItem', { Key: { clusterId: { S: clusterId }, waiter: { S: '#unfinished' } }, ConsistentRead: true }, accessKeyOf('event-router'));
  return Item;
}

/** A run stopped once its steps run, with four more hours to go. */
function stopped(env, name) {
  return env.run('run-transient', input(name, [step('Enrich', { seconds: 4 * 3600 })]), {
    stopWhen: ({ fn, attempt }) => fn === 'check-status' && attempt >= 1,
  });
}

/** Asserts the one run-end line of the stopped run, written by `writer`, carries its cluster's final cost as computed by hand. */
async function assertStoppedRunCost(env, report, writer) {
  const [clusterId] = report.launchedClusterIds;
  assert.equal((await clusterById(env, clusterId)).Status.State, 'TERMINATED');
  const want = await handComputed(env, clusterId);
  assert.ok(want.seconds > 0, 'the cluster had instances');
  const lines = runEndLines(env, clusterId);
  assert.deepEqual(lines.map(({ fn }) => fn), [writer], 'one line, by the function that recorded the cost');
  const { line } = lines[0];
  assert.deepEqual([line.Outcome, line.Command, line.Execution], ['ABORTED', 'run-transient', report.executionArn]);
  assert.equal(line.RunInstanceHours, Math.round((want.seconds / 3600) * 1e4) / 1e4);
  assert.ok(Math.abs(line.RunCostUsd - want.usd) <= 0.0001, `${line.RunCostUsd} vs ${want.usd}`);
  const note = await unfinishedNote(env, clusterId);
  assert.deepEqual([note.execution.S, note.status.S], [report.executionArn, 'ABORTED']);
  const cost = JSON.parse(note.cost.S);
  assert.deepEqual([cost.final, cost.billedSeconds, cost.usd], [true, want.seconds, line.RunCostUsd]);
}

test('cost: a stopped run\'s cost is recorded when its cluster ends: the cleanup notes the run, the cluster\'s TERMINATED event records the final cost once', async () => {
  await withEnvironment({}, async (env) => {
    const report = await stopped(env, 'stopped');
    assert.equal(report.status, 'ABORTED', explain(report));
    const [clusterId] = report.launchedClusterIds;
    assert.deepEqual(report.cleanup.output.terminated, [clusterId]);
    const note = await unfinishedNote(env, clusterId);
    assert.equal(note.cost, undefined, 'noted, not recorded: the cluster is still terminating');
    // The cluster ends, and EMR's events reach event-router.
    await env.advance(600);
    await assertStoppedRunCost(env, report, 'event-router');
    // Later events of the cluster record nothing again.
    await env.advance(600);
    assert.equal(runEndLines(env, clusterId).length, 1);
  });
});

test('cost: a stopped run whose cluster\'s end event is lost gets its cost recorded by the reconciler\'s next sweep', async () => {
  await withEnvironment({ reconciler: true, faults: { events: { dropRate: 1 } } }, async (env) => {
    const report = await stopped(env, 'stopped-lost');
    assert.equal(report.status, 'ABORTED', explain(report));
    const before = env.sweeps.length;
    await env.advance(600);
    await assertStoppedRunCost(env, report, 'reconciler');
    const recorded = env.sweeps.slice(before).flatMap((s) => s.output?.costsRecorded ?? []);
    assert.deepEqual(recorded.map((r) => [r.target, r.execution]), [[report.launchedClusterIds[0], report.executionArn]]);
  });
});
