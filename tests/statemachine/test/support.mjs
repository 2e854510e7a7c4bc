// Shared by the scenario tests: configs, playbooks and the "nothing left running" check.

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Environment } from '../lib/harness.mjs';
import { examplesDir } from '../lib/paths.mjs';
import { accessKeyOf } from '../lib/stack.mjs';

/** The realistic Spark example's cluster config: raw template text, as a user would paste it. */
export const sparkClusterText = readFileSync(join(examplesDir, 'spark', 'cluster.json'), 'utf8');
export const sparkPlaybookText = readFileSync(join(examplesDir, 'spark', 'playbook.json'), 'utf8');
export const sparkVars = JSON.parse(readFileSync(join(examplesDir, 'spark', 'vars.json'), 'utf8'));

/** Vars that name the cluster nightly-enrich-<env>: scenario rules match on that name. */
export function varsFor(env) {
  return { ...sparkVars, env };
}

export function clusterNameFor(env) {
  return `nightly-enrich-${env}`;
}

/**
 * A playbook step. The emulator reads markers in the step arguments: how long the step runs
 * (virtual seconds) and whether it fails.
 */
export function step(name, { seconds = 600, fail = false, action = 'CANCEL_AND_WAIT', reason, message } = {}) {
  const args = ['spark-submit', '--deploy-mode', 'cluster', `s3://acme-data/jars/${name.toLowerCase().replaceAll(' ', '-')}.jar`];
  args.push(`--emulator-duration=${seconds}`);
  if (fail) {
    args.push('--emulator-outcome=FAILED');
    if (reason) args.push(`--emulator-failure-reason=${reason}`);
    if (message) args.push(`--emulator-failure-message=${message}`);
  }
  return { type: 'CUSTOM_JAR', name, actionOnFailure: action, jar: 'command-runner.jar', arguments: args };
}

/** An inline PlaybookConfig object. */
export function playbook(steps) {
  return {
    schema: 'iglu:com.dataflowrunner.serverless/PlaybookConfig/jsonschema/1-1-0',
    data: { region: 'eu-west-1', credentials: { accessKeyId: 'env', secretAccessKey: 'env' }, steps },
  };
}

/** The EMR Serverless example's config (raw template text) and vars: the application is nightly-enrich-<env>. */
const serverlessExample = (file) => readFileSync(join(examplesDir, 'serverless', file), 'utf8');
export const serverlessConfigText = serverlessExample('config.json');
const serverlessVars = JSON.parse(serverlessExample('vars.json'));

/** The execution input of serverless-run-transient: the example config, `steps` (see `step`), `options`. */
export function serverlessInput(env, steps, options) {
  return { cluster: serverlessConfigText, playbook: playbook(steps), vars: { ...serverlessVars, env }, ...(options ? { options } : {}) };
}

/** The EMR Serverless applications an execution created (by the execution tag the functions put on them). */
export async function applicationsOf(env, report) {
  return (await env.emulator.applications()).filter((a) => a.tags?.['dataflow-runner:execution'] === report.executionArn);
}

/** Every application the execution created is deleted (TERMINATED) and each of its job runs ended; returns them. */
export async function assertNoApplicationLeft(env, report) {
  const apps = await applicationsOf(env, report);
  for (const app of apps) {
    assert.equal(app.state, 'TERMINATED', `application ${app.applicationId} is ${app.state}`);
    for (const run of app.jobRuns) assert.ok(['SUCCESS', 'FAILED', 'CANCELLED'].includes(run.state), `job run ${run.jobRunId} is ${run.state}`);
  }
  return apps;
}

/** Writes a file (an object as JSON) into a new temporary folder, for a command to read; returns its path. */
export function tempFile(name, content) {
  const file = join(mkdtempSync(join(tmpdir(), 'dfr-file-')), name);
  writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content, null, 2));
  return file;
}

/** Runs `fn` with a fresh emulator and fresh Lambda processes, always stopping them. */
export async function withEnvironment(options, fn) {
  const env = await Environment.start(options);
  try {
    return await fn(env);
  } finally {
    await env.stop();
  }
}

export const ACTIVE = ['STARTING', 'BOOTSTRAPPING', 'RUNNING', 'WAITING'];

/** Every cluster the execution launched (found by its execution tag) is no longer running. */
export async function assertNothingLeftRunning(env, report, { except = [] } = {}) {
  const clusters = await env.clusters();
  const launched = clusters.filter(
    (c) => report.launchedClusterIds.includes(c.Id) || c.Tags?.some((t) => t.Key === 'dataflow-runner:execution' && t.Value === report.executionArn),
  );
  const running = launched.filter((c) => ACTIVE.includes(c.Status.State) && !except.includes(c.Id));
  assert.deepEqual(
    running.map((c) => `${c.Id} ${c.Status.State}`),
    [],
    'clusters launched by the run are still running',
  );
  return launched;
}

/** The embedded-metric lines every function of `env` wrote, each {fn, line}. */
export function embeddedLines(env) {
  return Object.entries(env.functions).flatMap(([fn, f]) =>
    f.logLines.flatMap((text) => {
      try {
        const line = JSON.parse(text);
        return line._aws ? [{ fn, line }] : [];
      } catch {
        return [];
      }
    }),
  );
}

/** The run-end lines (crates/lambda/src/metrics.rs `run_ended`) of the runs on `clusterId`, each {fn, line}. */
export function runEndLines(env, clusterId) {
  return embeddedLines(env).filter(({ line }) => 'RunInstanceHours' in line && line.ClusterId === clusterId);
}

/** The run-end lines of the serverless runs on `applicationId` (metrics.rs `serverless_run_ended`), each {fn, line}. */
export function serverlessRunEndLines(env, applicationId) {
  return embeddedLines(env).filter(({ line }) => line.Target === 'serverless' && line.ApplicationId === applicationId);
}

/** The wait table's item of the serverless run on `applicationId` (its note, then its cost), as the reconciler reads it. */
export async function serverlessRunItem(env, applicationId) {
  const key = { clusterId: { S: applicationId }, waiter: { S: '#serverless' } };
  const { Item } = await env.waits('GetItem', { Key: key, ConsistentRead: true }, accessKeyOf('reconciler'));
  return Item;
}

/** Cluster by id from the emulator. */
export async function clusterById(env, id) {
  return (await env.clusters()).find((c) => c.Id === id);
}

/** The names of the states the execution entered, in order. */
export function path(report) {
  return report.events.filter((e) => e.type === 'StateEntered').map((e) => e.state.name);
}

/** Short explanation for assertion messages. */
export function explain(report) {
  return `${report.status} ${report.error ?? ''} ${report.cause ?? ''} after ${path(report).slice(-8).join(' → ')}`;
}

/** A copy of the template without the IAM statement `sid` (its `- Sid:` line and everything indented under it). */
export function withoutStatement(template, sid) {
  const lines = template.split('\n');
  const start = lines.findIndex((l) => l.trim() === `- Sid: ${sid}`);
  assert.ok(start >= 0, `the template has a statement ${sid}`);
  const indent = lines[start].indexOf('-');
  let end = start + 1;
  while (end < lines.length && (lines[end].trim() === '' || lines[end].search(/\S/) > indent)) end += 1;
  const file = join(mkdtempSync(join(tmpdir(), 'template-')), 'template.yaml');
  writeFileSync(file, [...lines.slice(0, start), ...lines.slice(end)].join('\n'));
  return file;
}
