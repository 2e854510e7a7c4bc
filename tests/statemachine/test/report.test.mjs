// `dataflow-runner report` as a user runs it: the real binary over the AWS JSON protocol to the local Step Functions
// endpoint (lib/sfn-server.mjs), after real runs of the definitions against the functions and the EMR emulator.
// The endpoint dates executions by the machine's clock (the runs themselves go in the harness's virtual time), so
// runs of days ago are made by moving the endpoint's clock back while they start and are stopped.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { examplesDir } from '../lib/paths.mjs';
import { cli, withStack } from '../lib/cli.mjs';
import { playbook, step, tempFile } from './support.mjs';

const spark = (f) => join(examplesDir, 'spark', f);
const CONFIGS = ['--emr-config', spark('cluster.json'), '--emr-playbook', spark('playbook.json'), '--vars-file', spark('vars.json')];
const DAY = 86400;

/** The calls of `op` the endpoint received after the first `from` calls. */
const callsSince = (server, from, op) => server.calls.slice(from).filter((c) => c === op).length;

/** An execution's ISO start as the report prints it: UTC, to the second. */
const isoStart = (e) => new Date(Math.floor(e.startDate) * 1000).toISOString().replace('.000Z', 'Z');

/** The runs of the scenario that launched a cluster: their output or Cause carries its cost. */
const COSTED = ['nightly-failed', 'nightly-ok'];

test('report: one row per run (start, command, pipeline, outcome, duration, cost) and totals, as JSON, CSV and text; --pipeline and --since filter, and paging stops at --since', async () => {
  await withStack(
    {},
    async (server) => {
      // Three runs of ten, nine and eight days ago, stopped before they ran.
      const machines = server.handle('ListStateMachines').stateMachines;
      const transient = machines.find((m) => m.name.endsWith('-run-transient')).stateMachineArn;
      const old = { cluster: { schema: 'iglu:com.dataflowrunner.serverless/ClusterConfig/jsonschema/1-2-0', data: { name: 'legacy-enrich' } }, playbook: { data: { steps: [] } } };
      for (const age of [10, 9, 8]) {
        server.now = () => Date.now() / 1000 - age * DAY;
        const { executionArn } = server.handle('StartExecution', { stateMachineArn: transient, name: `old-${age}d`, input: JSON.stringify(old) });
        server.handle('StopExecution', { executionArn });
        await server.idle();
      }
      server.now = () => Date.now() / 1000;

      // Today: a success, a failed step holding a hard lock, a run that finds it held; an up and a down of another pipeline.
      const failing = tempFile('failing.json', playbook([step('Load', { fail: true })]));
      const failingArgs = ['run-transient', '--emr-config', spark('cluster.json'), '--emr-playbook', failing, '--vars-file', spark('vars.json')];
      const runs = [
        [['run-transient', ...CONFIGS, '--name', 'nightly-ok'], 0],
        [[...failingArgs, '--name', 'nightly-failed', '--lock', 'acme/enrich'], 1],
        [['run-transient', ...CONFIGS, '--name', 'nightly-held', '--lock', 'acme/enrich'], 17],
        [['up', '--emr-config', spark('cluster.json'), '--vars-file', spark('vars.json'), '--vars', 'env,staging', '--name', 'staging-up'], 0],
      ];
      for (const [args, code] of runs) {
        const r = await cli(server, args);
        assert.equal(r.code, code, `${args.at(-1)}: ${r.stderr}`);
      }
      const up = [...server.executions.values()].find((e) => e.name === 'staging-up');
      const down = await cli(server, ['down', '--emr-cluster', up.output.clusterId, '--name', 'staging-down']);
      assert.equal(down.code, 0, down.stderr);

      // JSON: the runs of the last 7 days, newest first, read in pages of 2 (the endpoint answers so): the
      // run-transient pages stop at the first that reaches back past --since.
      const before = server.calls.length;
      const json = await cli(server, ['report', '--output', 'json']);
      assert.equal(json.code, 0, json.stderr);
      const report = JSON.parse(json.stdout);
      const recent = ['staging-down', 'staging-up', 'nightly-held', 'nightly-failed', 'nightly-ok'];
      assert.deepEqual(report.runs.map((r) => r.name), recent);
      assert.deepEqual(report.runs.map((r) => r.command), ['down', 'up', 'run-transient', 'run-transient', 'run-transient']);
      assert.deepEqual(report.runs.map((r) => r.outcome), ['SUCCEEDED', 'SUCCEEDED', 'FAILED LockHeld', 'FAILED StepFailed', 'SUCCEEDED']);
      // down knows only the cluster id: the up of the report names its pipeline
      assert.deepEqual(report.runs.map((r) => r.pipeline), ['nightly-enrich-staging', 'nightly-enrich-staging', 'nightly-enrich-prod', 'nightly-enrich-prod', 'nightly-enrich-prod']);
      assert.equal(report.runs[0].clusterId, up.output.clusterId);
      for (const row of report.runs) {
        const e = [...server.executions.values()].find((x) => x.name === row.name);
        assert.equal(row.executionArn, e.arn);
        assert.equal(row.start, isoStart(e));
        assert.ok(Math.abs(row.durationSeconds - (e.stopDate - e.startDate)) <= 0.501, `${row.name}: ${row.durationSeconds} s`);
        // The runs that launched a cluster carry its cost (the success in its output, the failure in its Cause);
        // the held lock, up and down none.
        if (COSTED.includes(row.name)) {
          assert.equal(row.instanceHours, row.cost.instanceHours, row.name);
          assert.equal(row.usd, row.cost.usd, row.name);
          // The functions run on the harness's virtual clock, so the cluster's life is priced as the emulator lived it.
          assert.ok(row.instanceHours > 0 && row.usd > 0, `${row.name}: ${JSON.stringify(row.cost)}`);
        } else {
          assert.deepEqual([row.instanceHours, row.usd, row.cost], [null, null, null], row.name);
        }
      }
      const sum = (k) => report.runs.reduce((n, r) => n + (r[k] ?? 0), 0);
      assert.equal(report.totals.runs, 5);
      assert.deepEqual(report.totals.outcomes, { 'FAILED LockHeld': 1, 'FAILED StepFailed': 1, SUCCEEDED: 3 });
      assert.equal(report.totals.runsWithoutCost, 3);
      assert.ok(Math.abs(report.totals.instanceHours - sum('instanceHours')) < 1e-6, JSON.stringify(report.totals));
      assert.ok(Math.abs(report.totals.usd - sum('usd')) < 1e-6, JSON.stringify(report.totals));
      // run-transient: [held, failed], [ok, old-8d] and no third page; up, run, down, serverless-run-transient,
      // serverless-up, serverless-down: one page each. Only the runs in range are described.
      assert.equal(callsSince(server, before, 'ListExecutions'), 2 + 1 + 1 + 1 + 1 + 1 + 1);
      assert.equal(callsSince(server, before, 'DescribeExecution'), recent.length);

      // --since: an age, or a time.
      const all = JSON.parse((await cli(server, ['report', '--since', '11d', '--output', 'json'])).stdout);
      assert.deepEqual(all.runs.map((r) => r.name), [...recent, 'old-8d', 'old-9d', 'old-10d']);
      assert.deepEqual(all.runs.slice(5).map((r) => [r.outcome, r.pipeline]), Array(3).fill(['ABORTED', 'legacy-enrich']));
      assert.equal(all.totals.outcomes.ABORTED, 3);
      const since = isoStart([...server.executions.values()].find((e) => e.name === 'old-9d'));
      const fromTime = JSON.parse((await cli(server, ['report', '--since', since, '--output', 'json'])).stdout);
      assert.deepEqual(fromTime.runs.map((r) => r.name), [...recent, 'old-8d', 'old-9d']);

      // --pipeline, as CSV: a header row and one row per run, CRLF, blank where there is nothing.
      const csv = await cli(server, ['report', '--pipeline', 'nightly-enrich-prod', '--output', 'csv']);
      assert.equal(csv.code, 0, csv.stderr);
      const lines = csv.stdout.split('\r\n');
      assert.equal(lines.at(-1), '', 'every row ends with CRLF');
      const [header, ...rows] = lines.slice(0, -1).map((l) => l.split(','));
      assert.deepEqual(header, ['start', 'stop', 'command', 'pipeline', 'outcome', 'status', 'error', 'durationSeconds', 'instanceHours', 'usd', 'usdIsLowerBound', 'costFinal', 'clusterId', 'name', 'executionArn']);
      const cell = (row, column) => row[header.indexOf(column)];
      assert.deepEqual(rows.map((r) => cell(r, 'name')), ['nightly-held', 'nightly-failed', 'nightly-ok']);
      assert.deepEqual(rows.map((r) => [cell(r, 'outcome'), cell(r, 'status'), cell(r, 'error')]), [
        ['FAILED LockHeld', 'FAILED', 'LockHeld'],
        ['FAILED StepFailed', 'FAILED', 'StepFailed'],
        ['SUCCEEDED', 'SUCCEEDED', ''],
      ]);
      for (const r of rows) {
        assert.match(cell(r, 'start'), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
        assert.match(cell(r, 'durationSeconds'), /^\d+$/);
        // the cost columns: figures for the runs that launched a cluster, blank for the held lock
        const costed = COSTED.includes(cell(r, 'name'));
        assert.equal(/^\d+(\.\d+)?$/.test(cell(r, 'instanceHours')), costed, r.join(','));
        assert.equal(/^\d+(\.\d+)?$/.test(cell(r, 'usd')), costed, r.join(','));
      }
      const staging = JSON.parse((await cli(server, ['report', '--pipeline', 'nightly-enrich-staging', '--output', 'json'])).stdout);
      assert.deepEqual(staging.runs.map((r) => r.name), ['staging-down', 'staging-up']);

      // Text: an aligned table, then the totals.
      const text = await cli(server, ['report']);
      assert.equal(text.code, 0, text.stderr);
      const [head, ...body] = text.stdout.trimEnd().split('\n');
      assert.match(head, /^START +COMMAND +PIPELINE +OUTCOME +DURATION +INSTANCE-HOURS +USD +EXECUTION$/);
      // the rows, the totals, then a legend of the marks the cost cells carry (not final, lower bound), if any
      const totalAt = body.findIndex((l) => l.startsWith('total since'));
      const rowLines = body.filter((l) => /^\d{4}-\d\d-\d\d /.test(l));
      assert.equal(rowLines.length, recent.length, text.stdout);
      assert.ok(totalAt >= recent.length, text.stdout);
      // Every row's cells under their heading: text left-aligned, figures right-aligned.
      const at = (row, heading) => row.slice(head.indexOf(heading));
      const endOf = (row, heading) => row[head.indexOf(heading) + heading.length - 1];
      rowLines.forEach((row, i) => {
        const r = report.runs[i];
        assert.match(row, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ /);
        for (const [heading, value] of [['COMMAND', r.command], ['PIPELINE', r.pipeline], ['OUTCOME', r.outcome], ['EXECUTION', r.name]]) {
          assert.ok(at(row, heading).startsWith(`${value}${heading === 'EXECUTION' ? '' : ' '}`), `${heading} of ${row}`);
        }
        assert.match(endOf(row, 'DURATION'), /[hms]/, row);
        // a figure for the runs that launched a cluster, '-' for the others
        const costed = COSTED.includes(r.name);
        const cells = row.split(/ {2,}/);
        assert.equal(/^\d/.test(cells[5]), costed, row);
        assert.equal(/^\d/.test(cells[6]), costed, row);
      });
      assert.match(body[totalAt], /^total since \d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ: 5 runs \(1 FAILED LockHeld, 1 FAILED StepFailed, 3 SUCCEEDED\)/);
    },
    { listPageSize: 2 },
  );
});

test('report: a --since it cannot read is a usage error (exit 2) that says what it takes', async () => {
  for (const since of ['7w', 'last week', '2026-13-01']) {
    const r = await cli(null, ['report', '--since', since]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /give an age in days, hours or minutes \(7d, 36h, 90m\) or a time/);
  }
});

test('report: a stopped run shows the final cost the stack recorded once its cluster had ended', async () => {
  const long = tempFile('long.json', playbook([step('Long', { seconds: 864000 })]));
  const args = ['run-transient', '--emr-config', spark('cluster.json'), '--emr-playbook', long, '--vars-file', spark('vars.json')];
  await withStack({}, async (server, env) => {
    // Interrupted with --stop-on-interrupt once its cluster runs: StopExecution, then the stack's cleanup.
    const slow = { DATAFLOW_RUNNER_POLL_SECONDS: '0.05' };
    const interrupted = await cli(server, [...args, '--name', 'stopped-1', '--stop-on-interrupt'], { env: slow, signalAfterMs: 1500 });
    assert.equal(interrupted.code, 1, interrupted.stderr.slice(-1500));
    await server.idle();
    const execution = [...server.executions.values()].find((e) => e.name === 'stopped-1');
    assert.equal(execution.report.status, 'ABORTED');
    const [clusterId] = execution.report.cleanup.output.terminated;
    // Before its cluster has ended, the run has no cost yet.
    const early = JSON.parse((await cli(server, ['report', '--output', 'json'])).stdout).runs.find((r) => r.name === 'stopped-1');
    assert.deepEqual([early.outcome, early.cost], ['ABORTED', null]);
    // The cluster ends; its TERMINATED event records the run's cost.
    await env.advance(600);
    const json = await cli(server, ['report', '--output', 'json']);
    assert.equal(json.code, 0, json.stderr);
    const row = JSON.parse(json.stdout).runs.find((r) => r.name === 'stopped-1');
    assert.deepEqual([row.outcome, row.clusterId, row.pipeline], ['ABORTED', clusterId, 'nightly-enrich-prod']);
    assert.equal(row.cost.final, true);
    assert.ok(row.instanceHours > 0 && row.usd > 0, JSON.stringify(row));
    assert.equal(row.instanceHours, row.cost.instanceHours);
    // The same cost as event-router recorded in the wait table, and as its run-end line says.
    const lines = env.functions['event-router'].logLines.map((l) => { try { return JSON.parse(l); } catch { return {}; } });
    const ended = lines.filter((l) => l.Outcome === 'ABORTED' && l.Execution === execution.arn);
    assert.equal(ended.length, 1);
    assert.equal(ended[0].RunInstanceHours, row.instanceHours);
    const totals = JSON.parse(json.stdout).totals;
    assert.equal(totals.runsWithoutCost, 0, JSON.stringify(totals));
  });
});

test('report: a serverless run shows its job runs\' cost together, from its output when it succeeded and from the stack\'s record when it failed', async () => {
  const serverless = (f) => join(examplesDir, 'serverless', f);
  const args = (name, steps) => ['run-transient', '--emr-config', serverless('config.json'), '--vars-file', serverless('vars.json'), '--emr-playbook', tempFile(`${name}.json`, playbook(steps)), '--name', name];
  await withStack({}, async (server) => {
    const ok = await cli(server, args('sls-ok', [step('Enrich', { seconds: 900 }), step('Report', { seconds: 300 })]));
    assert.equal(ok.code, 0, ok.stderr);
    const failed = await cli(server, args('sls-failed', [step('Enrich', { seconds: 600, fail: true })]));
    assert.equal(failed.code, 1, failed.stderr);
    await server.idle();
    const json = await cli(server, ['report', '--output', 'json']);
    assert.equal(json.code, 0, json.stderr);
    const { runs, totals } = JSON.parse(json.stdout);
    const row = (name) => runs.find((r) => r.name === name);
    const output = [...server.executions.values()].find((e) => e.name === 'sls-ok').report.output;
    // Succeeded: the output's cost, its job runs' together.
    const jobRunsUsd = Math.round(output.jobRuns.reduce((t, r) => t + Number(r.cost.usd), 0) * 10000) / 10000;
    assert.deepEqual(
      [row('sls-ok').outcome, row('sls-ok').usd, row('sls-ok').vcpuHours, row('sls-ok').instanceHours, row('sls-ok').pipeline],
      ['SUCCEEDED', jobRunsUsd, output.cost.vcpuHours, null, output.applicationId],
    );
    // Failed: no cost in its Cause; the one recorded when its application was deleted.
    const f = row('sls-failed');
    assert.equal(f.outcome, 'FAILED StepFailed');
    assert.ok(f.usd > 0 && f.vcpuHours > 0 && f.cost.final, JSON.stringify(f));
    assert.equal(f.cost.target, 'serverless');
    assert.match(f.clusterId, /^[0-9a-z]+$/, 'the application');
    assert.equal(f.pipeline, f.clusterId, 'the example names its application from a template: its id stands for it');
    assert.equal(totals.runsWithoutCost, 0, JSON.stringify(totals));
    assert.equal(totals.usd, Math.round((row('sls-ok').usd + f.usd) * 10000) / 10000);
    const text = await cli(server, ['report']);
    const line = text.stdout.split('\n').find((l) => l.includes('sls-failed'));
    assert.match(line, /FAILED StepFailed\s+\S+\s+-\s+[\d.]+\s+sls-failed$/, line);
  });
});
