// The history budget (statemachine/README.md, "History budget"): a 14-day job, simulated on the
// emulator through the real definitions, stays well under Step Functions' 25,000-event limit.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { explain, playbook, sparkClusterText, step, varsFor, withEnvironment } from './support.mjs';

const FOURTEEN_DAYS = 14 * 86400;
const HISTORY_LIMIT = 25_000;

/** The README's arithmetic: checks made while a run of `seconds` (after `readyAt`) is watched. */
function expectedPolls(seconds, readyAt) {
  let t = 120; // first check two minutes after the launch
  let polls = 0;
  for (;;) {
    polls += 1;
    if (t >= seconds) return polls;
    const starting = t < readyAt;
    const base = starting ? 30 : t / 8;
    const cap = t > 6 * 3600 ? 900 : 300;
    t += Math.round(Math.min(Math.max(base, 30), cap));
  }
}

test('run-transient: a 14-day job stays under the history limit (polling)', async (t) => {
  await withEnvironment({}, async (env) => {
    const report = await env.run('run-transient', {
      cluster: sparkClusterText,
      playbook: playbook([step('Two weeks of backfill', { seconds: FOURTEEN_DAYS })]),
      vars: varsFor('fortnight'),
      options: { completion: 'poll' },
    });
    assert.equal(report.status, 'SUCCEEDED', explain(report));
    const m = report.metrics;
    t.diagnostic(`virtual ${(report.virtualSeconds / 86400).toFixed(2)} days: ${m.polls} polls, ${m.stateTransitions} transitions, ${m.historyEvents} history events, ${report.emrCalls.total} EMR calls`);
    assert.ok(report.virtualSeconds > FOURTEEN_DAYS && report.virtualSeconds < 15 * 86400, 'ran 14 days, inside the 15-day execution timeout');
    assert.ok(m.historyEvents < HISTORY_LIMIT * 0.6, `${m.historyEvents} history events`);
    const expected = expectedPolls(report.virtualSeconds, 480);
    assert.ok(Math.abs(m.polls - expected) <= expected * 0.05, `${m.polls} polls, the README's arithmetic says ${expected}`);
    // Steady state: one EMR call (DescribeCluster) per poll.
    assert.ok(report.emrCalls.total <= m.polls + 5, `${report.emrCalls.total} EMR calls for ${m.polls} polls`);
  });
});

test('run-transient: a 14-day job waiting for events with every event lost stays under the history limit; one backstop check per maxBackstopSeconds', async (t) => {
  await withEnvironment({ faults: { events: { dropRate: 1 } } }, async (env) => {
    const report = await env.run('run-transient', {
      cluster: sparkClusterText,
      playbook: playbook([step('Two weeks of backfill', { seconds: FOURTEEN_DAYS })]),
      vars: varsFor('fortnight-events'),
    });
    assert.equal(report.status, 'SUCCEEDED', explain(report));
    const m = report.metrics;
    const checks = m.byState['Check the run'];
    t.diagnostic(`virtual ${(report.virtualSeconds / 86400).toFixed(2)} days: ${checks} backstop checks, ${m.stateTransitions} transitions, ${m.historyEvents} history events, ${report.emrCalls.total} EMR calls`);
    assert.ok(report.virtualSeconds > FOURTEEN_DAYS && report.virtualSeconds < FOURTEEN_DAYS + 7200 + 600, 'found the end within one backstop');
    // 3600 s, then twice the age up to 7200 s: one check every two hours after the first two hours.
    const expected = Math.ceil((report.virtualSeconds - 3600) / 7200) + 1;
    assert.ok(Math.abs(checks - expected) <= 2, `${checks} backstop checks, expected about ${expected}`);
    assert.ok(m.historyEvents < HISTORY_LIMIT * 0.2, `${m.historyEvents} history events`);
    assert.ok(report.emrCalls.total <= checks + 5, `${report.emrCalls.total} EMR calls for ${checks} checks`);
  });
});

test('run: waiting 14 days for a step on a long-running cluster stays under the history limit', async (t) => {
  await withEnvironment({}, async (env) => {
    const up = await env.run('up', { cluster: sparkClusterText, vars: varsFor('fortnight-run') });
    const report = await env.run('run', {
      clusterId: up.output.clusterId,
      playbook: playbook([step('Two weeks', { seconds: FOURTEEN_DAYS })]),
      options: { completion: 'poll' },
    });
    assert.equal(report.status, 'SUCCEEDED', explain(report));
    const m = report.metrics;
    t.diagnostic(`virtual ${(report.virtualSeconds / 86400).toFixed(2)} days: ${m.polls} polls, ${m.stateTransitions} transitions, ${m.historyEvents} history events, ${report.emrCalls.total} EMR calls`);
    assert.ok(m.historyEvents < HISTORY_LIMIT * 0.6, `${m.historyEvents} history events`);
    await env.run('down', { clusterId: up.output.clusterId });
  });
});
