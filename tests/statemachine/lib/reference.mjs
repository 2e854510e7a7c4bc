// The reference run (run-transient, the emulator's 8-minute cluster start, three steps totalling two hours) and what
// one run of it costs, measured from the report: state transitions, Lambda invocations (rule deliveries included),
// EMR calls by operation and by virtual time, history events, and the detection latency (the cluster's end → the
// execution's end: a transient run ends when its cluster has ended, every instance billed to its end). The bench (bench.mjs) and the tests (test/events.test.mjs) measure it the same way.

import { NOT_EMR } from './harness.mjs';
import { accessKeyOf } from './stack.mjs';
import { playbook, serverlessInput, sparkClusterText, step, varsFor } from '../test/support.mjs';

// Real steps do not last round numbers of seconds: with round ones every 30 s poll would land exactly on a step end.
export const STEP_SECONDS = [1790, 3600, 1795];
export const CLUSTER_START_SECONDS = 480;

/** The EMR operations that read a run's cost at its end (crates/lambda/src/aws/emr.rs, cluster_usage). */
const COST_READS = ['ListInstanceGroups', 'ListInstanceFleets', 'ListInstances'];

/** The reference run's three steps, whichever the target. */
function referenceSteps() {
  return [
    step('Stage raw events', { seconds: STEP_SECONDS[0] }),
    step('Enrich with Spark', { seconds: STEP_SECONDS[1] }),
    step('Archive raw events', { seconds: STEP_SECONDS[2] }),
  ];
}

/** The reference run's execution input, with `options` (e.g. {completion: 'poll'}). */
export function referenceInput(label, options) {
  return {
    cluster: sparkClusterText,
    playbook: playbook(referenceSteps()),
    vars: varsFor(`bench-${label}`),
    ...(options ? { options } : {}),
  };
}

/** When the execution started, in the emulator's virtual epoch seconds. */
export function virtualStart(report) {
  const first = report.invocations[0];
  return first.virtualTime - first.at;
}

/**
 * Runs the reference run once in `env` and measures it. `options`: the execution's options; `definition`: a variant
 * of the definition. Throws unless the run succeeded.
 */
export async function measureReference(env, label, { options, definition } = {}) {
  await env.emulator.admin('POST', 'requests/reset');
  const started = process.hrtime.bigint();
  const report = await env.run('run-transient', referenceInput(label, options), { definition, countCallsPerInvocation: true, name: `bench-${label}` });
  const realSeconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (report.status !== 'SUCCEEDED') throw new Error(`${label}: ${report.status} ${report.error} ${report.cause}`);
  const start = virtualStart(report);
  const end = start + report.virtualSeconds;
  const cluster = (await env.clusters()).find((c) => c.Id === report.output.clusterId);
  const clusterEnd = cluster.Status.Timeline.EndDateTime;
  if (!(clusterEnd >= Math.max(...cluster.Steps.map((s) => s.Status.Timeline.EndDateTime)))) throw new Error(`${label}: the run ended before its cluster`);
  const checks = report.invocations.filter((i) => i.fn === 'check-status' && i.output?.phase);
  // Steady state: a poll whose cluster state did not change since the previous one, the run going on.
  const steady = checks.filter((i) => i.input.previous?.clusterState === i.output.clusterState && !i.output.finished);
  const window = (await env.emulator.requests()).filter((r) => r.at >= start - 1e-6 && r.at <= end + 1e-6);
  // The reconciler's sweeps are the stack's, not the run's (one per period whatever runs): counted apart.
  const swept = (r) => r.accessKeyId === accessKeyOf('reconciler');
  // EMR's own calls: the tagging API, the Price List and EC2's spot prices, which the emulator serves too, are not.
  const requests = window.filter((r) => !swept(r) && !NOT_EMR.has(r.operation));
  const sweepCalls = window.filter(swept);
  const byOperation = Object.fromEntries(Object.entries(report.emrCalls.operations).map(([op, c]) => [op, c.calls - sweepCalls.filter((r) => r.operation === op).length]));
  // The cluster's last events (TERMINATED) come after the run reported its end: they still invoke event-router.
  const deliveredBefore = env.eventDeliveries.length;
  await env.advance(900);
  const afterEnd = env.eventDeliveries
    .slice(deliveredBefore)
    .filter((d) => d.event.detail?.clusterId === report.output.clusterId)
    .reduce((n, d) => n + (d.attempts ?? 1), 0);
  const m = report.metrics;
  return {
    report,
    stateTransitions: m.stateTransitions,
    lambdaInvocations: m.lambdaInvocations,
    polls: m.byState['Check the run'] ?? 0,
    callbackWaits: m.callbackWaits ?? 0,
    eventDeliveries: m.eventDeliveries ?? 0,
    /** event-router invocations for the run's cluster after the run ended (not in lambdaInvocations). */
    eventRouterAfterEnd: afterEnd,
    /** The reconciler's sweeps while the run ran, and their EMR and tagging API calls (not in emrCalls). */
    sweeps: { count: report.sweeps.length, emrCalls: sweepCalls.length },
    emrCalls: {
      total: report.emrCalls.total - sweepCalls.filter((r) => !NOT_EMR.has(r.operation)).length,
      /** Of `total`, the calls that read what the run cost at its end (beside the last check's DescribeCluster). */
      costReads: COST_READS.reduce((n, op) => n + (byOperation[op] ?? 0), 0),
      byOperation: Object.fromEntries(Object.entries(byOperation).filter(([, n]) => n > 0)),
      perSteadyPollMax: steady.length ? Math.max(...steady.map((i) => i.emrCalls)) : 0,
      steadyPolls: steady.length,
    },
    /** Each EMR call: its operation and the virtual seconds after the execution started. */
    emrCallTimes: requests.map((r) => ({ operation: r.operation, at: Number((r.at - start).toFixed(3)) })),
    historyEvents: m.historyEvents,
    detectionLatencySeconds: Math.round(end - clusterEnd),
    simulatedSeconds: Math.round(report.virtualSeconds),
    realSeconds: Number(realSeconds.toFixed(2)),
  };
}

/**
 * The reference run's playbook on EMR Serverless: the example ServerlessConfig, the same three steps and durations;
 * `options` as the execution input's (e.g. `{completion: 'poll'}`).
 */
export function serverlessReferenceInput(label, options) {
  return serverlessInput(`bench-${label}`, referenceSteps(), options);
}

/** When a serverless run found its last job run ended (epoch seconds): the first check or answered wait after `ended`. */
function foundAt(report, ended) {
  const found = [
    ...report.callbackWaits.filter((w) => w.outcome === 'succeeded').map((w) => w.answeredAt),
    ...report.invocations.filter((i) => i.fn === 'check-status' && ['succeeded', 'failed'].includes(i.output?.phase)).map((i) => i.virtualTime),
  ].filter((at) => at >= ended);
  if (found.length === 0) throw new Error('the run never found its last job run ended');
  return Math.min(...found);
}

/**
 * Runs the reference playbook once on EMR Serverless (statemachine/serverless-run-transient.asl.json) in `env` and
 * measures it as `measureReference` does. The detection latency is from the last job run's end to when the run
 * learned of it (the check, or the event-router's answer, that found it ended), not to the execution's end: the
 * application's cleanup (about 35 s of STOPPING and deletion) follows either way.
 * `options` go into the execution input (`{completion: 'poll'}` polls; the default waits for events).
 */
export async function measureServerlessReference(env, label, options) {
  await env.emulator.admin('POST', 'requests/reset');
  const started = process.hrtime.bigint();
  const input = serverlessReferenceInput(label, options);
  const report = await env.run('serverless-run-transient', input, { countCallsPerInvocation: true, name: `bench-${label}` });
  const realSeconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (report.status !== 'SUCCEEDED') throw new Error(`${label}: ${report.status} ${report.error} ${report.cause}`);
  const app = (await env.emulator.applications()).find((a) => a.applicationId === report.output.applicationId);
  const lastJobEnd = Math.max(...app.jobRuns.map((r) => r.endedAt));
  const calls = Object.fromEntries(Object.entries(report.emrCalls.operations).map(([op, c]) => [op, c.calls]).filter(([, n]) => n > 0));
  const m = report.metrics;
  return {
    report,
    stateTransitions: m.stateTransitions,
    lambdaInvocations: m.lambdaInvocations,
    polls: m.byState['Check the job run'] ?? 0,
    callbackWaits: m.callbackWaits,
    apiCalls: { total: report.emrCalls.total, byOperation: calls },
    historyEvents: m.historyEvents,
    detectionLatencySeconds: Math.round(foundAt(report, lastJobEnd) - lastJobEnd),
    simulatedSeconds: Math.round(report.virtualSeconds),
    realSeconds: Number(realSeconds.toFixed(2)),
    costUsd: report.output.jobRuns.reduce((sum, r) => sum + Number(r.cost?.usd ?? 0), 0).toFixed(4),
  };
}
