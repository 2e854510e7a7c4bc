// The dashboard's metrics as the functions write them: the embedded-metric log lines of the real binaries, against
// what the emulator answered (EMR's throttling, per function) and what the lock table holds (the locks a sweep finds
// held), and every metric a function writes is one the stack's dashboard or an alarm reads. The converse (what the
// template reads is what the code writes) is crates/lambda/src/metrics.rs's test.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { DASHBOARD_LIMITS, dashboardBody, dashboardMetrics, makefileFunctions, metricsRead } from '../../../bench/readme.mjs';
import { repoRoot } from '../lib/paths.mjs';
import { LOCK_OPERATOR_ACCESS_KEY } from '../lib/stack.mjs';
import { embeddedLines, explain, playbook, serverlessInput, sparkClusterText, step, varsFor, withEnvironment } from './support.mjs';

const TEMPLATE = readFileSync(join(repoRoot, 'infra', 'template.yaml'), 'utf8');
const NAMESPACE = 'DataflowRunner';

/** Every metric of ours the dashboard and the alarms read, as "name by Dim,Dim". */
function readByTheStack() {
  const read = new Set();
  for (const widget of dashboardBody(TEMPLATE).widgets) {
    for (const m of metricsRead(widget)) if (m.namespace === NAMESPACE) read.add(`${m.name} by ${m.dims.join(',')}`);
  }
  // The alarms read theirs by Stack (their Dimensions follow).
  for (const [, name] of TEMPLATE.matchAll(/Namespace: DataflowRunner\n\s+MetricName: (\w+)/g)) read.add(`${name} by Stack`);
  return read;
}

test('EMR throttling and held locks reach the dashboard: each function counts the attempts EMR throttled, the reconciler the lock a run holds; every metric written is one the stack reads', async () => {
  // Polling: check-status calls EMR at every check, so many of its invocations meet a throttle.
  const faults = { throttleShare: 0.5, operations: ['DescribeCluster', 'ListSteps'], seed: 19 };
  // Two attempts per call: the SDK retries a throttle once, and the retried attempt is counted too.
  await withEnvironment({ reconciler: true, faults, functionEnv: { AWS_MAX_ATTEMPTS: '2' } }, async (env) => {
    const lock = 'pipelines/dashboard';
    const input = { cluster: sparkClusterText, playbook: playbook([step('Enrich', { seconds: 1800 })]), vars: varsFor('dashboard'), lock: { name: lock }, options: { completion: 'poll' } };
    const report = await env.run('run-transient', input);
    assert.equal(report.status, 'SUCCEEDED', explain(report));
    // A sweep after the run: its lock is free, and a sweep without a held lock writes no gauge.
    const during = env.sweeps.length;
    await env.advance(300);
    assert.ok(env.sweeps.length > during, 'a sweep after the run');
    assert.ok(env.sweeps.slice(during).every((s) => s.output?.heldLocks?.count === 0), JSON.stringify(env.sweeps.slice(during)));
    const lines = embeddedLines(env);

    // EMR's throttling: per function, what its lines add up to is what the emulator answered it.
    const answered = {};
    for (const r of await env.emulator.requests()) {
      if (r.errorType === 'ThrottlingException') answered[env.callerName(r.accessKeyId)] = (answered[env.callerName(r.accessKeyId)] ?? 0) + 1;
    }
    const counted = {};
    for (const { fn, line } of lines.filter(({ line }) => 'EmrThrottled' in line)) {
      assert.equal(line.FunctionName, fn, 'the function as Lambda names it');
      assert.ok(line.EmrThrottled > 0, 'no line for an invocation EMR did not throttle');
      counted[fn] = (counted[fn] ?? 0) + line.EmrThrottled;
    }
    assert.ok(Object.keys(answered).length > 0, 'EMR throttled some calls');
    assert.deepEqual(counted, answered);

    // Held locks: a line for each sweep that found the run's lock held, with the lock's age at the sweep.
    const holding = env.sweeps.filter((s) => s.output?.heldLocks?.count > 0);
    assert.ok(holding.length > 0, `a sweep ran while the run held its lock: ${JSON.stringify(env.sweeps)}`);
    const gauges = lines.filter(({ line }) => 'HeldLocks' in line);
    assert.ok(gauges.every(({ fn }) => fn === 'reconciler'));
    assert.deepEqual(
      gauges.map(({ line }) => [line.HeldLocks, line.OldestHeldLockSeconds]),
      holding.map((s) => [s.output.heldLocks.count, s.output.heldLocks.oldestSeconds]),
    );
    const { Item } = await env.locks('GetItem', { Key: { lockName: { S: lock } }, ConsistentRead: true }, LOCK_OPERATOR_ACCESS_KEY);
    const acquiredMs = Date.parse(Item.acquiredAt.S);
    for (const { line } of gauges) {
      assert.deepEqual([line.HeldLocks, line.oldestLock, line.locksKept], [1, lock, 0]);
      assert.equal(line.OldestHeldLockSeconds, Math.floor((line._aws.Timestamp - acquiredMs) / 1000));
    }
    assert.equal(Item.state.S, 'released', 'the run released it at its end');

    // Every metric written, by each of its dimension sets, is read by the dashboard or an alarm.
    const read = readByTheStack();
    const written = new Set();
    for (const { fn, line } of lines) {
      for (const directive of line._aws.CloudWatchMetrics) {
        assert.equal(directive.Namespace, NAMESPACE);
        for (const dims of directive.Dimensions) {
          for (const m of directive.Metrics) {
            assert.ok(dims.every((d) => typeof line[d] === 'string'), `${fn}: ${m.Name} has a value for each of ${dims}`);
            written.add(`${m.Name} by ${dims.join(',')}`);
          }
        }
      }
    }
    const unread = [...written].filter((w) => !read.has(w));
    assert.deepEqual(unread, [], 'written, and read by neither the dashboard nor an alarm');
    for (const w of ['EmrThrottled by Stack,FunctionName', 'HeldLocks by Stack', 'RunInstanceHours by Stack,Pipeline']) {
      assert.ok(written.has(w), `this run wrote ${w}: ${[...written]}`);
    }
  });
});

test("the dashboard stays within CloudWatch's documented limits for the pipelines it can show, and is billed as the README says", () => {
  const body = dashboardBody(TEMPLATE);
  const limits = DASHBOARD_LIMITS;
  const m = dashboardMetrics(body, makefileFunctions().length);
  assert.ok(body.widgets.length <= limits.widgets, `${body.widgets.length} widgets`);
  // Counted here from each widget's metrics, not taken from the count: every line names a metric or is an expression.
  let lines = 0;
  for (const w of body.widgets.filter((x) => x.type === 'metric')) {
    const expressions = w.properties.metrics.filter((l) => typeof l[0] !== 'string');
    const searches = expressions.filter((l) => l[0].expression.startsWith('SEARCH('));
    const named = w.properties.metrics.length - expressions.length;
    lines += named;
    assert.ok(searches.length <= limits.searchesPerGraph, w.properties.title);
    assert.ok(named + searches.length <= limits.metricsPerWidget, `${w.properties.title}: ${named} metrics and ${searches.length} searches`);
  }
  assert.equal(m.named, lines, 'every metric line is counted');
  // Each SEARCH finds one metric per pipeline or per function: nothing else grows with use.
  assert.deepEqual(m.searches.filter((x) => !['Pipeline', 'FunctionName'].includes(x.by)), []);
  assert.ok(m.perPipeline > 0 && m.perFunction > 0, JSON.stringify(m.searches));
  // The pipelines shown whole: every widget and the dashboard within their limits with that many, and one more would
  // pass one of them.
  const total = (pipelines) => m.named + m.perPipeline * pipelines + m.perFunction * makefileFunctions().length;
  const widest = (pipelines) => Math.max(...m.widgets.map((w) => w.named + w.searches.reduce((n, x) => n + (x.by === 'Pipeline' ? pipelines : 1), 0)));
  const fits = (pipelines) => total(pipelines) <= limits.metricsPerDashboard && widest(pipelines) <= limits.metricsPerWidget;
  assert.ok(m.pipelines > 0 && fits(m.pipelines) && !fits(m.pipelines + 1), `${m.pipelines} pipelines`);
  // Past the free tier's metrics once one pipeline has a run: the fixed costs count its monthly fee.
  assert.ok(total(1) > limits.freeMetrics, `${total(1)} metrics`);
  const readme = readFileSync(join(repoRoot, 'infra', 'README.md'), 'utf8');
  assert.ok(readme.includes(`the dashboard $${limits.usdPerMonth};`), "infra/README.md's fixed costs count the dashboard's fee");
});


test("a serverless run's end reaches the dashboard: its RunCostUsd per stack and pipeline, and the fields the table of the last runs reads from terminate-cluster's log", async () => {
  await withEnvironment({}, async (env) => {
    const report = await env.run('serverless-run-transient', serverlessInput('dashboard', [step('Enrich', { seconds: 600 })]));
    assert.equal(report.status, 'SUCCEEDED', explain(report));
    const ends = embeddedLines(env).filter(({ line }) => line.Target === 'serverless');
    assert.equal(ends.length, 1, JSON.stringify(ends));
    const [{ fn, line }] = ends;
    assert.equal(fn, 'terminate-cluster');
    assert.equal(line.RunCostUsd, report.output.cost.usd);
    // Written per stack and pipeline, as the cost widgets read it.
    const read = readByTheStack();
    for (const dims of line._aws.CloudWatchMetrics.flatMap((d) => d.Dimensions)) assert.ok(read.has(`RunCostUsd by ${dims.join(',')}`), dims.join(','));
    // The table of the last runs: terminate-cluster's log is one of its sources, its filter takes the line, and every
    // field it reads is in the line but those of the other target (a cluster's instance-hours and id).
    const { query } = dashboardBody(TEMPLATE).widgets.find((w) => w.type === 'log').properties;
    assert.ok(query.includes("SOURCE '${TerminateClusterLogGroup}'"), query);
    assert.match(query, /filter ispresent\(RunInstanceHours\) or Target = 'serverless'/);
    const fields = query.split('| fields ')[1].split(' | ')[0];
    const names = [...fields.matchAll(/\b([A-Z]\w+)\b/g)].map((m) => m[1]).filter((n) => !['RunInstanceHours', 'ClusterId'].includes(n));
    const missing = names.filter((n) => !(n in line) && !/^(On|Resource)$/.test(n));
    assert.deepEqual(missing, [], `fields the table reads that the line lacks (${fields})`);
  });
});
