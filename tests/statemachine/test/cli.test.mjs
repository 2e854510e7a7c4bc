// The dataflow-runner CLI as a user runs it: the real binary, its real aws-sdk-sfn client talking the AWS JSON
// protocol to a local Step Functions endpoint (lib/sfn-server.mjs) in front of the real definitions, the real
// function binaries and the EMR emulator under the deployed IAM. Exit codes, output, and what reaches EMR.

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { binary, examplesDir } from '../lib/paths.mjs';
import { cli, withStack } from '../lib/cli.mjs';

const spark = (f) => join(examplesDir, 'spark', f);
const CONFIGS = ['--emr-config', spark('cluster.json'), '--emr-playbook', spark('playbook.json'), '--vars-file', spark('vars.json')];
const dir = mkdtempSync(join(tmpdir(), 'dfr-cli-'));
const snapshots = join(import.meta.dirname, 'snapshots');

/** Writes a file for a test and returns its path. */
function file(name, content) {
  const path = join(dir, name);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content, null, 2));
  return path;
}

/** A PlaybookConfig file with these steps (emulator markers in the arguments script their outcome). */
function playbookFile(name, steps) {
  return file(name, {
    schema: 'iglu:com.dataflowrunner.serverless/PlaybookConfig/jsonschema/1-1-0',
    data: {
      region: 'eu-west-1',
      credentials: { accessKeyId: 'env', secretAccessKey: 'env' },
      steps: steps.map(([stepName, ...args]) => ({ type: 'CUSTOM_JAR', name: stepName, actionOnFailure: 'CANCEL_AND_WAIT', jar: 'command-runner.jar', arguments: args })),
    },
  });
}

test('cli: run-transient succeeds, exit 0, one plain line per change, the step table and the outcome', async () => {
  await withStack({}, async (server, env) => {
    const r = await cli(server, ['run-transient', ...CONFIGS, '--name', 'nightly-1']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^run-transient succeeded: cluster j-[A-Z0-9]+, 3 steps completed\n$/);
    assert.match(r.stderr, /started run-transient \(arn:aws:states:eu-west-1:123456789012:execution:dataflow-runner-run-transient:nightly-1\)/);
    assert.match(r.stderr, /\d\d:\d\d:\d\dZ → Launch cluster\n/);
    assert.match(r.stderr, /cluster j-[A-Z0-9]+ launched/);
    assert.match(r.stderr, /step "Enrich with Spark" COMPLETED/);
    assert.match(r.stderr, /\n {2}Stage raw events +COMPLETED/);
    assert.doesNotMatch(r.stderr, /\x1b\[/, 'no terminal codes when piped');
    const [cluster] = await env.clusters();
    assert.equal(cluster.Name, 'nightly-enrich-prod');
  });
});

test('cli: a failing step exits 1 and says which step, why, and where its log is', async () => {
  await withStack({}, async (server) => {
    const pb = playbookFile('failing.json', [['Load', '--emulator-outcome=FAILED', '--emulator-failure-reason=java.lang.OutOfMemoryError', '--emulator-failure-message=Java heap space']]);
    const r = await cli(server, ['run-transient', '--emr-config', spark('cluster.json'), '--emr-playbook', pb, '--vars-file', spark('vars.json')]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /run-transient failed: StepFailed\n {2}cluster j-[A-Z0-9]+ /);
    assert.match(r.stderr, /step "Load" FAILED\n {4}reason: java.lang.OutOfMemoryError\n {4}message: Java heap space\n {4}log: s3:\/\/acme-data\/emr-logs\//);
    assert.equal(r.stdout, '');
  });
});

test('cli: --output json prints the execution output as one JSON object', async () => {
  await withStack({}, async (server) => {
    const r = await cli(server, ['run-transient', ...CONFIGS, '--output', 'json']);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.equal(out.status, 'SUCCEEDED');
    assert.deepEqual(out.output.steps.map((s) => s.state), ['COMPLETED', 'COMPLETED', 'COMPLETED']);
    assert.match(out.executionArn, /:execution:dataflow-runner-run-transient:run-transient-nightly-enrich-prod-\d{8}T\d{9}Z$/);
  });
});

test('cli: configs are rendered where the CLI runs (your environment, files and clock) and not rendered again', async () => {
  await withStack({}, async (server, env) => {
    // `{{"{{"}}` renders to a literal `{{`: the functions must take the rendered text as it is.
    // Go raw strings (backquotes), as a config file would quote inside a JSON string.
    const pb = playbookFile('rendered.json', [['Echo', '{{systemEnv `OWNER`}}', '{{`{{not a template}}`}}', '{{base64File `' + file('conf.txt', 'hello') + '`}}']]);
    const r = await cli(server, ['run-transient', '--emr-config', spark('cluster.json'), '--emr-playbook', pb, '--vars-file', spark('vars.json')], { env: { OWNER: 'data-team' } });
    assert.equal(r.code, 0, r.stderr);
    const [cluster] = await env.clusters();
    assert.deepEqual(cluster.Steps[0].Config.Args.slice(0, 3), ['data-team', '{{not a template}}', Buffer.from('hello').toString('base64')]);
    const started = (await env.emulator.requests()).find((q) => q.operation === 'RunJobFlow');
    assert.ok(!started.body.includes('user-secret'));
  });
});

const serverless = (f) => join(examplesDir, 'serverless', f);
const SERVERLESS = ['--emr-config', serverless('config.json'), '--vars-file', serverless('vars.json')];
/** A spark-submit step for EMR Serverless: [name, ...emulator markers] (how long its job run runs, how it ends). */
const sparkStep = ([name, ...markers]) => [name, 'spark-submit', '--class', 'com.example.Main', `s3://acme-data/jars/${name.toLowerCase()}.jar`, ...markers];

test('cli: run-transient of a ServerlessConfig runs each step as a job run, prints the application and each job run\'s state and cost, exit 0, and deletes the application', async () => {
  await withStack({}, async (server, env) => {
    const pb = playbookFile('serverless-ok.json', [['Enrich', '--emulator-duration=900'], ['Report', '--emulator-duration=300']].map(sparkStep));
    const r = await cli(server, ['run-transient', ...SERVERLESS, '--emr-playbook', pb, '--name', 'sls-1']);
    assert.equal(r.code, 0, r.stderr);
    const [app] = await env.emulator.applications();
    const id = app.applicationId;
    assert.equal(r.stdout, `run-transient succeeded: EMR Serverless application ${id}, 2 of 2 job runs succeeded\n`);
    assert.match(r.stderr, /^started run-transient on EMR Serverless \(arn:aws:states:eu-west-1:123456789012:execution:dataflow-runner-serverless-run-transient:sls-1\)\n/);
    assert.match(r.stderr, new RegExp(`\\d\\d:\\d\\d:\\d\\dZ application ${id} created\n`));
    // Waiting for EMR Serverless's events (the default), the run sees each job run when it starts and when it ends.
    for (const name of ['Enrich', 'Report']) {
      assert.match(r.stderr, new RegExp(`step "${name}" SUBMITTED\n[\\s\\S]*step "${name}" SUCCESS\n`));
    }
    assert.match(r.stderr, /→ Wait for the job run's events\n/);
    assert.match(r.stderr, new RegExp(`application ${id} deleted\n`));
    // The final table: each job run's state and cost, then their total.
    const row = (name) => new RegExp(`\n {2}${name} +SUCCESS +[\\d.]+ vCPU-hours, [\\d.]+ GB-hours memory, [\\d.]+ GB-hours storage, ≈ \\$[\\d.]+\n`);
    assert.match(r.stderr, row('Enrich'));
    assert.match(r.stderr, row('Report'));
    assert.match(r.stderr, /\n {2}Cost: ≈ \$[\d.]+ for 2 job runs \(estimate, EMR Serverless prices\)\n$/);
    assert.equal(app.name, 'nightly-enrich-prod');
    assert.equal(app.state, 'TERMINATED');
    assert.deepEqual(app.jobRuns.map((j) => j.state), ['SUCCESS', 'SUCCESS']);
  });
});

test('cli: a failing job run exits as a failing EMR step does, and says which job run, its state details and where its logs are', async () => {
  await withStack({}, async (server, env) => {
    const pb = playbookFile('serverless-failing.json', [['Load', '--emulator-outcome=FAILED', '--emulator-failure-message=java.lang.OutOfMemoryError: Java heap space'], ['Report']].map(sparkStep));
    const r = await cli(server, ['run-transient', ...SERVERLESS, '--emr-playbook', pb, '--name', 'sls-fail', '--log-failed-steps']);
    const emr = await cli(server, ['run-transient', '--emr-config', spark('cluster.json'), '--emr-playbook', playbookFile('emr-failing.json', [['Load', '--emulator-outcome=FAILED']]), '--vars-file', spark('vars.json')]);
    assert.equal(emr.code, 1, emr.stderr);
    assert.equal(r.code, emr.code, r.stderr);
    assert.equal(r.stdout, '');
    const [app] = await env.emulator.applications();
    const [run] = app.jobRuns;
    const logs = `s3://acme-data/emr-serverless-logs/applications/${app.applicationId}/jobs/${run.jobRunId}/`;
    // The outcome: the application, the failed job run's id, state details and logs, said once.
    const outcome =
      `run-transient failed: StepFailed\n  EMR Serverless application ${app.applicationId}\n  job run "Load" FAILED\n    id: ${run.jobRunId}\n` +
      `    details: java.lang.OutOfMemoryError: Java heap space\n    logs: ${logs}\n`;
    // --log-failed-steps: where the driver's logs are (EMR Serverless keeps them there; the CLI does not read them).
    const located = `logs of job run "Load" (${run.jobRunId}): ${logs} (the driver's: SPARK_DRIVER/stderr.gz and stdout.gz under it; HIVE_DRIVER/ for Hive)\n`;
    assert.equal(r.stderr.slice(r.stderr.indexOf('run-transient failed')), outcome + located);
    assert.match(r.stderr, /\n {2}Load +FAILED +[\d.]+ vCPU-hours.*\n {2}Report +PENDING\n/);
    // Later, from the execution's history: the same table and outcome.
    const status = await cli(server, ['status', 'sls-fail']);
    assert.equal(status.code, r.code, status.stderr);
    assert.ok(status.stderr.endsWith(outcome), status.stderr);
    assert.match(status.stderr, /\n {2}Load +FAILED +[\d.]+ vCPU-hours.*\n {2}Report +PENDING\n/);
    assert.equal(app.jobRuns.length, 1, 'the later step never started');
    assert.equal(app.state, 'TERMINATED');
  });
});

test('cli: --output json of a serverless run prints the output document: the application and each job run with its cost', async () => {
  await withStack({}, async (server, env) => {
    const pb = playbookFile('serverless-json.json', [['Enrich', '--emulator-duration=600']].map(sparkStep));
    const r = await cli(server, ['run-transient', ...SERVERLESS, '--emr-playbook', pb, '--output', 'json', '--name', 'sls-json']);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    const [app] = await env.emulator.applications();
    assert.equal(out.status, 'SUCCEEDED');
    assert.equal(out.executionArn, 'arn:aws:states:eu-west-1:123456789012:execution:dataflow-runner-serverless-run-transient:sls-json');
    assert.equal(out.output.applicationId, app.applicationId);
    assert.equal(out.output.region, 'eu-west-1');
    const [jobRun] = out.output.jobRuns;
    assert.deepEqual(Object.keys(jobRun).sort(), ['cost', 'jobRunId', 'logUri', 'name', 'state', 'stateDetails']);
    assert.equal(jobRun.jobRunId, app.jobRuns[0].jobRunId);
    assert.equal(jobRun.state, 'SUCCESS');
    assert.ok(jobRun.cost.vcpuHours > 0 && Number(jobRun.cost.usd) > 0, JSON.stringify(jobRun.cost));
  });
});

test('cli: invalid configs exit 1 with every problem, and nothing is started', async () => {
  await withStack({}, async (server) => {
    const bad = file('bad-cluster.json', '{"schema": "iglu:com.snowplowanalytics.dataflowrunner/ClusterConfig/avro/1-1-0", "data": {"name": "x"}}');
    const r = await cli(server, ['run-transient', '--emr-config', bad, '--emr-playbook', spark('playbook.json'), '--vars-file', spark('vars.json')]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /2 problems found:\n.*bad-cluster\.json:1: data\.ec2: required field `ec2` is missing\n[\s\S]*data\.roles: required field `roles` is missing/);
    assert.ok(!server.calls.includes('StartExecution'), server.calls.join(','));
  });
});

test('cli: options that would outgrow the history limit (polling every 30 s for 14 days) exit 1 naming the option and the fix, and nothing is started', async () => {
  await withStack({}, async (server) => {
    const options = JSON.stringify({ completion: 'poll', maxPollSeconds: 30, timeoutSeconds: 14 * 86400 });
    const r = await cli(server, ['run-transient', ...CONFIGS, '--options', options]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /execution input: options\.maxPollSeconds: polling every 30\.\.30 s .*history events/);
    assert.match(r.stderr, /fix: raise options\.maxPollSeconds/);
    assert.ok(!server.calls.includes('StartExecution'), server.calls.join(','));
    const unknown = await cli(server, ['run-transient', ...CONFIGS, '--options', '{"maxPollSecond": 300}']);
    assert.equal(unknown.code, 1, unknown.stderr);
    assert.match(unknown.stderr, /execution input: options: .*maxPollSecond/);
    assert.ok(!server.calls.includes('StartExecution'), server.calls.join(','));
  });
});

test('cli: a ServerlessConfig whose playbook has a step EMR Serverless cannot run (s3-dist-cp) exits 1 with the file, JSON path and fix, and nothing is started; up, run and down refuse what has no place on EMR Serverless, exit 2', async () => {
  const config = SERVERLESS;
  await withStack({}, async (server) => {
    const pb = file('s3-dist-cp.json', {
      schema: 'iglu:com.dataflowrunner.serverless/PlaybookConfig/jsonschema/1-1-0',
      data: {
        region: 'eu-west-1',
        credentials: { accessKeyId: 'env', secretAccessKey: 'env' },
        steps: [{ type: 'CUSTOM_JAR', name: 'Copy', actionOnFailure: 'CANCEL_AND_WAIT', jar: '/usr/share/aws/emr/s3-dist-cp/lib/s3-dist-cp.jar', arguments: ['--src', 's3://a/', '--dest', 's3://b/'] }],
      },
    });
    const r = await cli(server, ['run-transient', ...config, '--emr-playbook', pb]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /s3-dist-cp\.json:\d+: data\.steps\[0\]\.jar: cannot run on EMR Serverless: s3-dist-cp .*\n +fix: /);
    const refused = [
      [['up', ...config, '--emr-playbook', serverless('playbook.json')], /^error: up on EMR Serverless creates and starts the application only/],
      [['run', '--emr-cluster', 'j-1ABC', ...config, '--emr-playbook', serverless('playbook.json')], /^error: --emr-config is a ServerlessConfig: run it on an application with --emr-application ID/],
      [['run', '--emr-application', '00fabc', '--async', ...config, '--emr-playbook', serverless('playbook.json')], /without --emr-cluster or --async/],
      [['run', ...config, '--emr-playbook', serverless('playbook.json')], /^error: give --emr-application ID/],
      [['run', '--emr-application', '../00f', ...config, '--emr-playbook', serverless('playbook.json')], /is not an EMR Serverless application id/],
      [['run', '--emr-application', '00fabc', '--emr-cluster', 'j-1ABC', '--emr-playbook', spark('playbook.json'), '--vars-file', spark('vars.json')], /--emr-application is for a ServerlessConfig/],
      [['down', '--emr-cluster', 'j-1ABC', ...config], /^error: --emr-config is a ServerlessConfig: give --emr-application ID/],
      [['down', '--emr-application', '00fabc', '--emr-cluster', 'j-1ABC'], /^error: give --emr-application ID or --emr-cluster/],
      [['down', '--emr-application', 'APP-1'], /is not an EMR Serverless application id/],
    ];
    for (const [args, message] of refused) {
      const u = await cli(server, args);
      assert.equal(u.code, 2, `${args.join(' ')}: ${u.stderr}`);
      assert.match(u.stderr, message, args.join(' '));
    }
    assert.deepEqual(server.calls, [], 'nothing is looked up, nothing started');
  });
});

test('cli: usage errors exit 2 (the original exited 0), with the original\'s exclusions', async () => {
  const cases = [
    [['run-transient', '--emr-config', spark('cluster.json')], /needs --emr-playbook/],
    [['run-transient', ...CONFIGS, '--lock', 'a', '--softLock', 'b'], /cannot be used with/],
    [['run', '--emr-cluster', 'j-1ABC', '--emr-playbook', spark('playbook.json'), '--vars-file', spark('vars.json'), '--async', '--lock', 'a'], /--async cannot hold a lock/],
    [['run-transient', ...CONFIGS, '--consul', 'localhost:8500', '--lock', 'a'], /--consul is not supported/],
    [['down', '--emr-cluster', 'cluster-1'], /not an EMR cluster id/],
    [['run-transient', ...CONFIGS, '--output', 'yaml'], /invalid value 'yaml'/],
  ];
  for (const [args, message] of cases) {
    const r = await cli(null, args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, message);
  }
});

test('cli: up, run, down on one cluster, with the line the original printed for scripts', async () => {
  await withStack({}, async (server, env) => {
    const up = await cli(server, ['up', '--emr-config', spark('cluster.json'), '--vars-file', spark('vars.json')]);
    assert.equal(up.code, 0, up.stderr);
    const id = /Jobflow ID: (j-[A-Z0-9]+)/.exec(up.stdout)?.[1];
    assert.match(up.stdout, /^EMR cluster launched successfully; Jobflow ID: j-[A-Z0-9]+\n$/);
    const run = await cli(server, ['run', '--emr-cluster', id, '--emr-playbook', spark('playbook.json'), '--vars-file', spark('vars.json')]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^run succeeded: cluster j-[A-Z0-9]+, 3 steps completed\n$/);
    const asyncRun = await cli(server, ['run', '--emr-cluster', id, '--emr-playbook', spark('playbook.json'), '--vars-file', spark('vars.json'), '--async']);
    assert.equal(asyncRun.code, 0, asyncRun.stderr);
    assert.match(asyncRun.stdout, /steps submitted to j-/);
    const down = await cli(server, ['down', '--emr-cluster', id]);
    assert.equal(down.code, 0, down.stderr);
    assert.equal(down.stdout, `EMR cluster terminated: ${id}\n`);
    assert.equal((await env.clusters()).find((c) => c.Id === id).Status.State, 'TERMINATED');
  });
});

test('cli: list, status and stop find executions by name; Ctrl-C detaches, or stops with --stop-on-interrupt', async () => {
  const long = playbookFile('long.json', [['Long', '--emulator-duration=864000']]);
  const args = ['run-transient', '--emr-config', spark('cluster.json'), '--emr-playbook', long, '--vars-file', spark('vars.json')];
  await withStack({}, async (server, env) => {
    // Slow polls so the run is still going when Ctrl-C comes (the emulator's clock only moves with the run).
    const slow = { DATAFLOW_RUNNER_POLL_SECONDS: '0.05' };
    const detached = await cli(server, [...args, '--name', 'long-1'], { env: slow, signalAfterMs: 1500 });
    assert.equal(detached.code, 1, detached.stderr.slice(-1500));
    assert.match(detached.stderr, /detached: the run goes on without this terminal[\s\S]*dataflow-runner stop arn:aws:states:/);
    const listed = await cli(server, ['list']);
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, /^run-transient +(RUNNING|FAILED|SUCCEEDED|ABORTED) .* j-[A-Z0-9]+ +long-1$/m);
    const stopped = await cli(server, ['stop', 'long-1']);
    assert.equal(stopped.code, 0, stopped.stderr);
    await server.idle();
    const status = await cli(server, ['status', 'long-1']);
    assert.equal(status.code, 1);
    assert.match(status.stderr, /run-transient was stopped \(ABORTED\)/);
    const interrupted = await cli(server, [...args, '--name', 'long-2', '--stop-on-interrupt'], { env: slow, signalAfterMs: 1500 });
    assert.equal(interrupted.code, 1, interrupted.stderr.split("\n").filter((l) => !l.includes("Check the run")).join("\n"));
    assert.match(interrupted.stderr, /stopping arn:aws:states:.*long-2: the stack's cleanup terminates the clusters it launched/);
    await server.idle();
    const report = [...server.executions.values()].find((e) => e.name === 'long-2').report;
    assert.equal(report.status, 'ABORTED');
    assert.deepEqual(report.cleanup.output.terminated.length, 1, 'the cleanup ended its cluster');
    assert.equal((await env.clusters()).filter((c) => ['STARTING', 'BOOTSTRAPPING', 'RUNNING', 'WAITING'].includes(c.Status.State)).length, 0);
  });
});

test('cli: --log-failed-steps prints the tail of each failed step\'s logs from S3, and logs EXECUTION does it later', async () => {
  await withStack({ s3: true }, async (server) => {
    const pb = playbookFile('logged.json', [['Load', '--emulator-outcome=FAILED', '--emulator-failure-reason=java.lang.OutOfMemoryError', '--emulator-failure-message=Java heap space']]);
    const args = ['run-transient', '--emr-config', spark('cluster.json'), '--emr-playbook', pb, '--vars-file', spark('vars.json')];
    const r = await cli(server, [...args, '--name', 'logged', '--log-failed-steps', '--log-lines', '5'], { env: { DATAFLOW_RUNNER_LOG_WAIT_SECONDS: '30' } });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /logs of step "Load" \(s3:\/\/acme-data\/emr-logs\/j-[A-Z0-9]+\/steps\/s-[A-Z0-9]+\/\):\n {2}stderr\.gz, last 5 lines:\n {4}Exception in thread "main" java\.lang\.OutOfMemoryError: Java heap space/);
    assert.match(r.stderr, /controller\.gz, last 5 lines:\n {4}INFO Step created with id s-/);
    const later = await cli(server, ['logs', 'logged', '--log-lines', '1']);
    assert.equal(later.code, 0, later.stderr);
    assert.match(later.stderr, /stdout\.gz, last 1 lines:\n {4}Load ended/);
  }, { stepLogs: true });
  // Without the upload (here: no S3 at all), the wait is bounded and the absence said.
  await withStack({}, async (server) => {
    const pb = playbookFile('unlogged.json', [['Load', '--emulator-outcome=FAILED']]);
    const r = await cli(server, ['run-transient', '--emr-config', spark('cluster.json'), '--emr-playbook', pb, '--vars-file', spark('vars.json'), '--log-failed-steps'], {
      env: { DATAFLOW_RUNNER_LOG_WAIT_SECONDS: '0.3' },
    });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /logs of step "Load" are not in s3:\/\/acme-data\/emr-logs\/j-[A-Z0-9]+\/steps\/s-[A-Z0-9]+\/ yet/);
  });
});

/** Runs the CLI on a pseudo-terminal (as a person at a terminal would), through Python's pty module. */
function cliInPty(server, args) {
  const script = 'import os, pty, sys\nstatus = pty.spawn(sys.argv[1:])\nsys.exit(os.waitstatus_to_exitcode(status))';
  return cli(server, ['-c', script, binary('dataflow-runner'), ...args], { command: 'python3', env: { TERM: 'xterm' } });
}

/** The last frame a live view drew: the text after the last "move up and clear", without terminal codes. */
function lastFrame(output) {
  const frames = output.split(/\x1b\[\d+A\x1b\[J/);
  return frames.at(-1).replaceAll('\r', '');
}

test('cli: on a terminal, a live view is redrawn in place; its last frame shows the cluster and every step', async () => {
  await withStack({}, async (server) => {
    const r = await cliInPty(server, ['run-transient', ...CONFIGS, '--name', 'live-1']);
    assert.equal(r.code, 0, r.stdout);
    assert.match(r.stdout, /\x1b\[\d+A\x1b\[J/, 'redrawn in place');
    // stdout and stderr share the terminal: the frame, then the outcome line.
    const frame = lastFrame(r.stdout)
      .replace(/j-[A-Z0-9]+/g, 'j-ID')
      .replace(/ {2}\d+(m \d\ds|s|h \d\dm)\n/, '  TIME\n')
      .replace(/within \d+s/, 'within Ns')
      // The figures are held to a hand computation in cost.test.mjs; the date is the day the prices were read.
      .replace(/Cost: [\d.]+ instance-hours, ≈ \$[\d.]+ \(estimate, prices as of \d{4}-\d\d-\d\d\)/, 'Cost: N instance-hours, ≈ $N (estimate, prices as of DATE)');
    const expected = readFileSync(join(snapshots, 'live-view.txt'), 'utf8');
    assert.equal(frame, expected);
  });
});

test('cli: a held lock exits 17 and launches nothing; lock list, show and release clear a hard lock kept after a failure', async () => {
  await withStack({}, async (server, env) => {
    const failing = playbookFile('locked-fail.json', [['Load', '--emulator-outcome=FAILED']]);
    const run = (pb, lockArgs) => cli(server, ['run-transient', '--emr-config', spark('cluster.json'), '--emr-playbook', pb, '--vars-file', spark('vars.json'), ...lockArgs], {
      env: { AWS_ENDPOINT_URL_DYNAMODB: env.moto.url },
    });
    const first = await run(failing, ['--lock', 'acme/enrich']);
    assert.equal(first.code, 1, first.stderr);
    const clusters = (await env.clusters()).length;
    const held = await run(spark('playbook.json'), ['--lock', 'acme/enrich']);
    assert.equal(held.code, 17, held.stderr);
    assert.match(held.stderr, /run-transient failed: LockHeld/);
    assert.equal((await env.clusters()).length, clusters, 'nothing launched');
    const lockCli = (args) => cli(server, ['lock', ...args], { env: { AWS_ENDPOINT_URL_DYNAMODB: env.moto.url } });
    const list = await lockCli(['list']);
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /lock "acme\/enrich" \(hard\) is kept since arn:aws:states:.* failed with StepFailed/);
    const show = await lockCli(['show', 'acme/enrich', '--output', 'json']);
    assert.equal(show.code, 0, show.stderr);
    assert.equal(JSON.parse(show.stdout).state, 'failed');
    const release = await lockCli(['release', 'acme/enrich']);
    assert.equal(release.code, 0, release.stderr);
    assert.match(release.stdout, /released lock "acme\/enrich"/);
    const again = await run(spark('playbook.json'), ['--softLock', 'acme/enrich']);
    assert.equal(again.code, 0, again.stderr);
    const free = await lockCli(['show', 'acme/enrich']);
    assert.match(free.stdout, /lock "acme\/enrich" is free/);
  });
});
