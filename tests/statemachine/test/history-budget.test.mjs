// The history budget (statemachine/README.md, "History budget"): a 14-day job, simulated on the
// emulator through the real definitions, stays well under Step Functions' 25,000-event limit.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { FOURTEEN_DAYS, fortnightRun, fortnightTransient, HISTORY_LIMIT } from '../lib/fortnight.mjs';
import { repoRoot } from '../lib/paths.mjs';
import { LOCK_OPERATOR_ACCESS_KEY } from '../lib/stack.mjs';
import { explain, playbook, sparkClusterText, step, varsFor, withEnvironment } from './support.mjs';

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
    const { report, checks } = await fortnightTransient(env, 'fortnight', { completion: 'poll' });
    assert.equal(report.status, 'SUCCEEDED', explain(report));
    const m = report.metrics;
    assert.equal(checks, m.polls, 'every check-status call of the run is a poll');
    t.diagnostic(`virtual ${(report.virtualSeconds / 86400).toFixed(2)} days: ${m.polls} polls, ${m.stateTransitions} transitions, ${m.historyEvents} history events, ${report.emrCalls.total} EMR calls ${JSON.stringify(Object.fromEntries(Object.entries(report.emrCalls.operations).map(([k, v]) => [k, v.calls])))}`);
    assert.ok(report.virtualSeconds > FOURTEEN_DAYS && report.virtualSeconds < 15 * 86400, 'ran 14 days, inside the 15-day execution timeout');
    assert.ok(m.historyEvents < HISTORY_LIMIT * 0.6, `${m.historyEvents} history events`);
    const expected = expectedPolls(report.virtualSeconds, 480);
    assert.ok(Math.abs(m.polls - expected) <= expected * 0.05, `${m.polls} polls, the README's arithmetic says ${expected}`);
    // Steady state: one EMR call (DescribeCluster) per poll; at the end 3 more read the run's cost.
    assert.ok(report.emrCalls.total <= m.polls + 5 + 3, `${report.emrCalls.total} EMR calls for ${m.polls} polls`);
  });
});

test('run-transient: a 14-day job waiting for events with every event lost stays under the history limit; one backstop check per maxBackstopSeconds', async (t) => {
  await withEnvironment({ faults: { events: { dropRate: 1 } } }, async (env) => {
    const { report, checks } = await fortnightTransient(env, 'fortnight-events');
    assert.equal(report.status, 'SUCCEEDED', explain(report));
    const m = report.metrics;
    t.diagnostic(`virtual ${(report.virtualSeconds / 86400).toFixed(2)} days: ${checks} backstop checks, ${m.stateTransitions} transitions, ${m.historyEvents} history events, ${report.emrCalls.total} EMR calls`);
    assert.ok(report.virtualSeconds > FOURTEEN_DAYS && report.virtualSeconds < FOURTEEN_DAYS + 7200 + 600, 'found the end within one backstop');
    // 3600 s, then twice the age up to 7200 s: one check every two hours after the first two hours.
    const expected = Math.ceil((report.virtualSeconds - 3600) / 7200) + 1;
    assert.ok(Math.abs(checks - expected) <= 2, `${checks} backstop checks, expected about ${expected}`);
    assert.ok(m.historyEvents < HISTORY_LIMIT * 0.2, `${m.historyEvents} history events`);
    assert.ok(report.emrCalls.total <= checks + 5 + 3, `${report.emrCalls.total} EMR calls for ${checks} checks`);
  });
});

test('run: waiting 14 days for a step on a long-running cluster stays under the history limit', async (t) => {
  await withEnvironment({}, async (env) => {
    const { report } = await fortnightRun(env, 'fortnight-run');
    assert.equal(report.status, 'SUCCEEDED', explain(report));
    const m = report.metrics;
    t.diagnostic(`virtual ${(report.virtualSeconds / 86400).toFixed(2)} days: ${m.polls} polls, ${m.stateTransitions} transitions, ${m.historyEvents} history events, ${report.emrCalls.total} EMR calls ${JSON.stringify(Object.fromEntries(Object.entries(report.emrCalls.operations).map(([k, v]) => [k, v.calls])))}`);
    assert.ok(report.virtualSeconds > FOURTEEN_DAYS, 'waited 14 days');
    assert.ok(m.historyEvents < HISTORY_LIMIT * 0.6, `${m.historyEvents} history events`);
  });
});

const SCHEMA = JSON.parse(readFileSync(join(repoRoot, 'schemas', 'execution-input.schema.json'), 'utf8'));
/** The longest run the schema allows, and the shortest poll delay. */
const LONGEST = SCHEMA.$defs.timeoutSeconds.maximum;
const SHORTEST_POLL = SCHEMA.$defs.minPollSeconds.minimum;

test('run: polling every 30 s for 14 days is refused by the first function, before any EMR call, naming the option and the fix', async () => {
  await withEnvironment({}, async (env) => {
    const up = await env.run('up', { cluster: sparkClusterText, vars: varsFor('too-many-polls') });
    const { clusterId } = up.output;
    const options = { completion: 'poll', maxPollSeconds: 30, timeoutSeconds: FOURTEEN_DAYS };
    for (const lock of [undefined, { name: 'nightly', kind: 'hard' }]) {
      const report = await env.run('run', { clusterId, playbook: playbook([step('Enrich')]), options, ...(lock && { lock }) });
      assert.equal(report.error, 'InvalidConfig', explain(report));
      assert.match(report.causeJson.message, /execution input: options\.maxPollSeconds: polling every 30\.\.30 s .*history events/);
      assert.match(report.causeJson.message, /fix: raise options\.maxPollSeconds/);
      assert.deepEqual(report.invocations.map((i) => i.fn), [lock ? 'lock' : 'add-steps'], 'the first function refused it');
      assert.equal(report.emrCalls.total, 0, 'no EMR call');
    }
    const { Items } = await env.locks('Scan', {}, LOCK_OPERATOR_ACCESS_KEY);
    assert.deepEqual(Items, [], 'the lock was never taken');
    await env.run('down', { clusterId });
  });
});

test('the worst options the functions accept stay under the history limit over the longest allowed run (poll, and events with every event lost)', async (t) => {
  await withEnvironment({ faults: { events: { dropRate: 1 } } }, async (env) => {
    const up = await env.run('up', { cluster: sparkClusterText, vars: varsFor('edge') });
    const { clusterId } = up.output;
    const forever = playbook([step('Longer than any run', { seconds: 2 * LONGEST })]);
    /** Whether add-steps accepts `options`; an accepted probe is stopped as soon as it waits. */
    const accepted = async (options) => {
      const r = await env.run('run', { clusterId, playbook: forever, options }, { stopWhen: ({ fn }) => fn === 'check-status' });
      if (r.status === 'ABORTED') return true;
      assert.equal(r.error, 'InvalidConfig', explain(r));
      return false;
    };
    /** The smallest value in lo..hi that `options(value)` is accepted with (lo refused, hi accepted). */
    const edge = async (lo, hi, options) => {
      assert.equal(await accepted(options(lo)), false, `${JSON.stringify(options(lo))} is refused`);
      assert.equal(await accepted(options(hi)), true, `${JSON.stringify(options(hi))} is accepted`);
      while (hi - lo > 1) {
        const mid = Math.floor((lo + hi) / 2);
        if (await accepted(options(mid))) hi = mid;
        else lo = mid;
      }
      return hi;
    };
    const polling = (maxPollSeconds) => ({ completion: 'poll', minPollSeconds: SHORTEST_POLL, maxPollSeconds, timeoutSeconds: LONGEST });
    const backstops = (seconds) => ({ minBackstopSeconds: seconds, maxBackstopSeconds: seconds, timeoutSeconds: LONGEST });
    const cases = [
      ['poll', polling(await edge(SHORTEST_POLL, SCHEMA.$defs.maxPollSeconds.maximum, polling)), 'Check the steps'],
      ['events', backstops(await edge(SCHEMA.$defs.minBackstopSeconds.minimum, SCHEMA.$defs.maxBackstopSeconds.maximum, backstops)), 'Check the steps'],
    ];
    for (const [mode, options, check] of cases) {
      const report = await env.run('run', { clusterId, playbook: forever, options });
      const m = report.metrics;
      t.diagnostic(`${mode} ${JSON.stringify(options)}: ${(report.virtualSeconds / 86400).toFixed(2)} days, ${m.byState[check]} checks, ${m.historyEvents} history events`);
      assert.equal(report.error, 'Timeout', `${mode}: the run ends by its own timeout, not the history limit: ${explain(report)}`);
      assert.ok(report.virtualSeconds >= LONGEST, `${mode}: ran the longest allowed run`);
      assert.ok(m.historyEvents < HISTORY_LIMIT, `${mode}: ${m.historyEvents} history events`);
    }
    await env.run('down', { clusterId });
  });
});
