// The 14-day runs of the history budget (statemachine/README.md, "Polling and the history budget"): a job of two
// weeks through the real definitions on the emulator's virtual time. test/history-budget.test.mjs checks them against
// the limit; the bench (bench.mjs) records what they wrote in bench/results/statemachine.json. One home for both.

import { playbook, sparkClusterText, step, varsFor } from '../test/support.mjs';

export const FOURTEEN_DAYS = 14 * 86400;
/** Step Functions' limit on a Standard execution's history. */
export const HISTORY_LIMIT = 25_000;

/** What a run wrote: its checks (polls, or the backstop's checks when waiting for events), transitions, events. */
function counted(report, checkState) {
  const m = report.metrics;
  return {
    report,
    checks: m.byState[checkState] ?? 0,
    stateTransitions: m.stateTransitions,
    historyEvents: m.historyEvents,
    emrCalls: report.emrCalls.total,
    simulatedSeconds: Math.round(report.virtualSeconds),
  };
}

/**
 * run-transient with one step of 14 days. `options`: the execution's (e.g. {completion: 'poll'}); without them it
 * waits for events, so run it where they are lost to count the backstop's checks.
 */
export async function fortnightTransient(env, label, options) {
  const report = await env.run('run-transient', {
    cluster: sparkClusterText,
    playbook: playbook([step('Two weeks of backfill', { seconds: FOURTEEN_DAYS })]),
    vars: varsFor(label),
    ...(options ? { options } : {}),
  });
  return counted(report, 'Check the run');
}

/** `run`, polling, waiting 14 days for a step on a cluster `up` launched (then `down`). */
export async function fortnightRun(env, label) {
  const up = await env.run('up', { cluster: sparkClusterText, vars: varsFor(label) });
  if (up.status !== 'SUCCEEDED') throw new Error(`up for ${label}: ${up.status} ${up.error} ${up.cause}`);
  const report = await env.run('run', {
    clusterId: up.output.clusterId,
    playbook: playbook([step('Two weeks', { seconds: FOURTEEN_DAYS })]),
    options: { completion: 'poll' },
  });
  await env.run('down', { clusterId: up.output.clusterId });
  return counted(report, 'Check the steps');
}
