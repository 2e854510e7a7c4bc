// Callback Tasks (lambda:invoke.waitForTaskToken), the SendTask* endpoint and the local bus for EMR events, held to
// Step Functions', EventBridge's and Lambda's contracts. The definitions are written here: a callback Task invoking a
// real binary, or the stand-in worker of fixtures/callback-worker.mjs run as `event-router` in a copy of the template
// that declares it (with a role that may answer this stack's tokens) and a rule on aws.emr events.

import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseToken, TOKEN_MAX_LENGTH, wellFormedToken } from '../lib/callbacks.mjs';
import { FUNCTIONS, functionArn, LAMBDA_INVOKE, LAMBDA_INVOKE_CALLBACK } from '../lib/definitions.mjs';
import { EventBus, matches } from '../lib/event-bus.mjs';
import { binary, repoRoot } from '../lib/paths.mjs';
import { StepFunctionsServer } from '../lib/sfn-server.mjs';
import { accessKeyOf, callJson, executionArn, REGION, stateMachineArn } from '../lib/stack.mjs';
import { explain, sparkClusterText, varsFor, withEnvironment } from './support.mjs';

const WORKER = fileURLToPath(new URL('./fixtures/callback-worker.mjs', import.meta.url));
const ROUTER_KEY = accessKeyOf('event-router');

/**
 * infra/template.yaml with one change: event-router's role may also send SendTaskFailure and SendTaskHeartbeat, which
 * the stand-in worker playing event-router uses to drive the machinery (the real function only sends
 * SendTaskSuccess, for this stack's state machines only).
 */
function templateWithRouter(dir) {
  const text = readFileSync(join(repoRoot, 'infra', 'template.yaml'), 'utf8');
  const role = text.indexOf('\n  EventRouterRole:');
  assert.ok(role > 0, 'the template declares EventRouterRole');
  const grant = '                Action: states:SendTaskSuccess\n';
  const at = text.indexOf(grant, role);
  assert.ok(at > 0, "EventRouterRole's SendTaskSuccess statement");
  const path = join(dir, 'template.yaml');
  const wider = '                Action: [states:SendTaskSuccess, states:SendTaskFailure, states:SendTaskHeartbeat]\n';
  writeFileSync(path, `${text.slice(0, at)}${wider}${text.slice(at + grant.length)}`);
  return path;
}

/** An environment whose event-router is the stand-in worker (remembered tokens in a file of its own). */
async function withRouter(fn, options = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'dfr-callbacks-'));
  try {
    return await withEnvironment(
      {
        template: templateWithRouter(dir),
        functionBinaries: { 'event-router': WORKER },
        functionEnv: { DFR_TEST_WAITS: join(dir, 'waits.json') },
        ...options,
      },
      fn,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A definition: one callback Task invoking `fn` with `payload` (plus the token as wait.taskToken), caught into $.error. */
function callbackDefinition({ fn = 'event-router', payload = {}, timeout = { TimeoutSeconds: 3600 }, heartbeatSeconds, retry } = {}) {
  return {
    StartAt: 'Wait for the token',
    States: {
      'Wait for the token': {
        Type: 'Task',
        Resource: LAMBDA_INVOKE_CALLBACK,
        Parameters: { FunctionName: functionArn(fn), Payload: { ...payload, wait: { 'taskToken.$': '$$.Task.Token' } } },
        ...timeout,
        ...(heartbeatSeconds ? { HeartbeatSeconds: heartbeatSeconds } : {}),
        ...(retry ? { Retry: retry } : {}),
        ResultPath: '$.status',
        Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'Caught' }],
        Next: 'Done',
      },
      Caught: { Type: 'Pass', End: true },
      Done: { Type: 'Succeed' },
    },
  };
}

const run = (env, definition, input = {}, options = {}) => env.run('run', input, { definition, ...options });
const caught = (report) => report.output?.error;

// ---------------------------------------------------------------------------------------------------------------
// EventBridge pattern matching, against the examples of EventBridge's documentation on content filtering.

test('event patterns: source, detail-type, nested detail, prefix, suffix, anything-but, exists, numeric, as EventBridge matches them', () => {
  const event = {
    source: 'aws.emr',
    'detail-type': 'EMR Step Status Change',
    time: '2017-10-02T15:43:48Z',
    resources: ['arn:aws:elasticmapreduce:eu-west-1:123456789012:cluster/j-1'],
    detail: { clusterId: 'j-1', state: 'COMPLETED', name: 'Load', 'c-count': 5, tags: ['a', 'b'], nested: { deep: 'x' } },
  };
  const yes = (pattern) => assert.equal(matches(pattern, event), true, JSON.stringify(pattern));
  const no = (pattern) => assert.equal(matches(pattern, event), false, JSON.stringify(pattern));
  yes({ source: ['aws.emr'] });
  no({ source: ['aws.states'] });
  yes({ source: ['aws.emr'], 'detail-type': ['EMR Cluster State Change', 'EMR Step Status Change'] });
  no({ source: ['aws.emr'], 'detail-type': ['EMR Cluster State Change'] });
  yes({ detail: { state: ['FAILED', 'COMPLETED'] } });
  no({ detail: { state: ['FAILED'] } });
  yes({ detail: { nested: { deep: ['x'] } } });
  no({ detail: { nested: { deep: ['y'] } } });
  no({ detail: { missing: { deep: ['x'] } } });
  yes({ time: [{ prefix: '2017-10-02' }] });
  no({ time: [{ prefix: '2017-10-03' }] });
  yes({ detail: { name: [{ suffix: 'oad' }] } });
  yes({ detail: { state: [{ 'anything-but': 'RUNNING' }] } });
  no({ detail: { state: [{ 'anything-but': 'COMPLETED' }] } });
  no({ detail: { state: [{ 'anything-but': ['CANCELLED', 'COMPLETED'] }] } });
  yes({ detail: { state: [{ 'anything-but': { prefix: 'RUN' } }] } });
  no({ detail: { state: [{ 'anything-but': { prefix: 'COMP' } }] } });
  no({ detail: { absent: [{ 'anything-but': 'x' }] } }, 'anything-but needs the field');
  yes({ detail: { 'c-count': [{ numeric: ['>', 0, '<=', 5] }] } });
  no({ detail: { 'c-count': [{ numeric: ['>', 5] }] } });
  yes({ detail: { absent: [{ exists: false }] } });
  no({ detail: { state: [{ exists: false }] } });
  yes({ detail: { state: [{ exists: true }] } });
  yes({ detail: { tags: ['b'] } }, 'an array field matches when one element does');
  yes({ detail: { state: [{ 'equals-ignore-case': 'completed' }] } });
  no({ detail: { clusterId: ['j-1'], state: ['FAILED'] } }, 'every field must match');
  yes({ resources: [{ prefix: 'arn:aws:elasticmapreduce:' }] });
  assert.throws(() => matches({ detail: { state: [{ wildcard: '*' }] } }, event), /not simulated/);
});

test('the bus delivers in deliverAt order, retries a failing target twice (Lambda async), then drops and counts it', async () => {
  const calls = [];
  const failures = { 'j-flaky': 1, 'j-broken': Infinity };
  const bus = new EventBus({
    rules: [
      { rule: 'Emr', pattern: { source: ['aws.emr'], detail: { state: [{ 'anything-but': 'STARTING' }] } }, fn: 'router', maxRetries: 2 },
      { rule: 'Gone', pattern: { source: ['aws.emr'], detail: { clusterId: ['j-gone'] } }, fn: 'missing', maxRetries: 2, notRunning: true },
    ],
    invoke: async (fn, event) => {
      calls.push(`${fn} ${event.detail.clusterId}`);
      if ((failures[event.detail.clusterId] ?? 0) > 0) {
        failures[event.detail.clusterId] -= 1;
        throw Object.assign(new Error('boom'), { name: 'Boom' });
      }
      return { ok: event.detail.clusterId };
    },
    now: () => 1000,
  });
  const item = (seq, deliverAt, clusterId, state = 'TERMINATED') => ({ seq, deliverAt, event: { source: 'aws.emr', detail: { clusterId, state } } });
  const made = await bus.deliver([item(3, 50, 'j-broken'), item(1, 10, 'j-flaky'), item(2, 10, 'j-ok'), item(4, 60, 'j-starting', 'STARTING'), item(5, 70, 'j-gone')]);
  assert.deepEqual(calls, ['router j-flaky', 'router j-flaky', 'router j-ok', 'router j-broken', 'router j-broken', 'router j-broken', 'router j-gone']);
  assert.deepEqual(
    made.map((d) => [d.fn, d.event.detail.clusterId, d.attempts, Boolean(d.dropped)]),
    [
      ['router', 'j-flaky', 2, false],
      ['router', 'j-ok', 1, false],
      ['router', 'j-broken', 3, true],
      ['router', 'j-gone', 1, false],
      ['missing', 'j-gone', 0, true],
    ],
  );
  assert.equal(made[0].output.ok, 'j-flaky');
  assert.equal(made[2].error.name, 'Boom');
  assert.equal(bus.dropped, 2);
  assert.deepEqual(bus.unmatched.map((i) => i.event.detail.clusterId), ['j-starting']);
});

test('task tokens: opaque, well-formed ones parse, anything else does not', () => {
  const arn = executionArn('run', 'x'.repeat(80));
  const token = wellFormedToken(arn, 'S'.repeat(80));
  assert.ok(token.length <= 1024, `${token.length} characters`);
  assert.equal(parseToken(token).stateMachineArn, 'arn:aws:states:eu-west-1:123456789012:stateMachine:dataflow-runner-run');
  for (const bad of ['', 'nonsense', `${token.slice(0, -4)}!!!!`, token.slice(3), 'AQC' + Buffer.from('{"v":2}').toString('base64url')]) {
    assert.equal(parseToken(bad), null, bad);
  }
  assert.ok(TOKEN_MAX_LENGTH >= 1024);
});

// ---------------------------------------------------------------------------------------------------------------
// Callback Tasks in the interpreter, with the real Lambda Runtime API.

test('a function answering SendTaskSuccess during its own invocation: the output is the result, in ResultPath, at no virtual cost', async () => {
  await withRouter(async (env) => {
    const before = await env.emulator.now();
    const definition = callbackDefinition({ payload: { do: 'success', output: { phase: 'done', clusterState: 'WAITING' } } });
    const report = await run(env, definition, { keep: 1 });
    assert.equal(report.status, 'SUCCEEDED', explain(report));
    assert.deepEqual(report.output, { keep: 1, status: { phase: 'done', clusterState: 'WAITING' } });
    const [wait] = report.callbackWaits;
    assert.equal(wait.outcome, 'succeeded');
    assert.equal(wait.answeredBy, 'event-router');
    assert.equal(wait.waitedSeconds, 0);
    assert.equal(await env.emulator.now(), before);
    assert.equal(parseToken(wait.token).executionArn, report.executionArn);
    // The function got the token where the definition put it ($$.Task.Token), and its answer was ignored.
    assert.equal(report.invocations[0].input.wait.taskToken, wait.token);
    assert.deepEqual(report.invocations[0].output, { sent: 'SendTaskSuccess' });
    // ExecutionStarted; Entered and Exited of the Task and of Succeed; TaskScheduled, Started, Submitted, Succeeded; ExecutionSucceeded.
    assert.equal(report.metrics.historyEvents, 1 + 2 * 2 + 4 + 1);
    assert.equal(report.metrics.lambdaInvocations['event-router'], 1);
    // The token is dead now.
    await assert.rejects(env.sfn('SendTaskSuccess', { taskToken: wait.token, output: '{}' }, ROUTER_KEY), { name: 'TaskTimedOut' });
  });
});

test('SendTaskFailure: the Task fails with that error and cause, which Catch sees; Retry retries it with a new token', async () => {
  await withRouter(async (env) => {
    const retry = [{ ErrorEquals: ['ClusterGone'], MaxAttempts: 1, IntervalSeconds: 1 }];
    const definition = callbackDefinition({ payload: { do: 'failure', error: 'ClusterGone', cause: '{"clusterId":"j-1"}' }, retry });
    const report = await run(env, definition);
    assert.equal(report.status, 'SUCCEEDED', explain(report));
    assert.deepEqual(caught(report), { Error: 'ClusterGone', Cause: '{"clusterId":"j-1"}' });
    assert.equal(report.callbackWaits.length, 2, 'retried once');
    assert.notEqual(report.callbackWaits[0].token, report.callbackWaits[1].token, 'each attempt has its own token');
    assert.deepEqual(report.callbackWaits.map((w) => w.outcome), ['failed', 'failed']);
  });
});

test('a failed invocation fails the Task with the function error (real check-status, which refuses the extra field)', async () => {
  await withEnvironment({}, async (env) => {
    const definition = callbackDefinition({ fn: 'check-status', payload: { clusterId: 'j-ABCDEFGHIJKLM', mode: 'up' } });
    const report = await run(env, definition);
    assert.equal(report.status, 'SUCCEEDED', explain(report));
    assert.equal(report.callbackWaits[0].outcome, 'invocation-failed');
    assert.equal(caught(report).Error, report.invocations[0].error.name);
    assert.match(caught(report).Cause, /wait/);
    assert.equal(report.virtualSeconds, 0);
    // TaskScheduled, TaskStarted, TaskFailed: no TaskSubmitted.
    assert.equal(report.invocations[0].historyEvents, 3);
  });
});

test('nobody answers: TimeoutSecondsPath fails the Task with States.Timeout after exactly that many virtual seconds (real check-status)', async () => {
  await withEnvironment({}, async (env) => {
    const up = await env.run('up', { cluster: sparkClusterText, vars: varsFor('callback-timeout') });
    assert.equal(up.status, 'SUCCEEDED', explain(up));
    const before = await env.emulator.now();
    const definition = {
      StartAt: 'Check',
      States: {
        Check: {
          Type: 'Task',
          Resource: LAMBDA_INVOKE_CALLBACK,
          Parameters: { FunctionName: functionArn('check-status'), Payload: { 'clusterId.$': '$.clusterId', mode: 'up' } },
          TimeoutSecondsPath: '$.status.backstopSeconds',
          ResultPath: '$.status',
          Catch: [{ ErrorEquals: ['States.TaskFailed'], Next: 'Wrong' }, { ErrorEquals: ['States.Timeout'], ResultPath: '$.error', Next: 'Timed out' }],
          End: true,
        },
        Wrong: { Type: 'Fail', Error: 'Wrong', Cause: 'States.TaskFailed must not match States.Timeout' },
        'Timed out': { Type: 'Pass', End: true },
      },
    };
    const report = await run(env, definition, { clusterId: up.output.clusterId, status: { backstopSeconds: 7200 } });
    assert.equal(report.status, 'SUCCEEDED', explain(report));
    assert.equal(caught(report).Error, 'States.Timeout');
    assert.equal(report.invocations[0].error, undefined, 'check-status answered (its answer is ignored)');
    assert.equal(report.callbackWaits[0].outcome, 'timed-out');
    assert.equal(report.callbackWaits[0].waitedSeconds, 7200);
    assert.equal(report.virtualSeconds, 7200);
    assert.equal(report.metrics.callbackWaitSeconds, 7200);
    assert.equal((await env.emulator.now()) - before, 7200, 'the emulator clock moved exactly that much');
  });
});

test('heartbeats: each SendTaskHeartbeat resets HeartbeatSeconds; when they stop, States.HeartbeatTimeout', async () => {
  await withRouter(async (env) => {
    const definition = callbackDefinition({ payload: { do: 'ignore' }, heartbeatSeconds: 60, timeout: { TimeoutSeconds: 3600 } });
    const actions = ({ token }) => {
      const beat = (after) => ({ after, run: () => env.sfn('SendTaskHeartbeat', { taskToken: token }, ROUTER_KEY) });
      return [beat(50), beat(100), { after: 140, run: () => env.sfn('SendTaskSuccess', { taskToken: token, output: '{"ok":true}' }, ROUTER_KEY) }];
    };
    const kept = await run(env, definition, {}, { callbackActions: actions });
    assert.equal(kept.status, 'SUCCEEDED', explain(kept));
    assert.deepEqual(kept.output.status, { ok: true });
    assert.equal(kept.callbackWaits[0].waitedSeconds, 140);
    assert.equal(kept.callbackWaits[0].heartbeats, 2);
    assert.equal(kept.callbackWaits[0].answeredBy, 'event-router');

    const stopped = await run(env, definition, {}, {
      callbackActions: ({ token: t }) => [{ after: 50, run: () => env.sfn('SendTaskHeartbeat', { taskToken: t }, ROUTER_KEY) }],
    });
    assert.equal(caught(stopped).Error, 'States.HeartbeatTimeout', explain(stopped));
    assert.equal(stopped.callbackWaits[0].outcome, 'heartbeat-timed-out');
    assert.equal(stopped.callbackWaits[0].waitedSeconds, 110, 'the last heartbeat (50 s) plus 60 s');
  });
});

test('SendTask* errors as Step Functions answers them: TaskTimedOut, TaskDoesNotExist, InvalidToken, InvalidOutput, ValidationException, AccessDeniedException', async () => {
  await withRouter(async (env) => {
    const answers = [];
    const attempt = async (what, promise) => {
      try {
        await promise;
        answers.push([what, 'ok']);
      } catch (e) {
        answers.push([what, e.name]);
      }
    };
    const definition = callbackDefinition({ payload: { do: 'ignore' } });
    const report = await run(env, definition, {}, {
      callbackActions: ({ token }) => [
        {
          after: 0,
          run: async () => {
            await attempt('malformed', env.sfn('SendTaskSuccess', { taskToken: 'not-a-token', output: '{}' }, ROUTER_KEY));
            await attempt('unknown', env.sfn('SendTaskSuccess', { taskToken: wellFormedToken(executionArn('run', 'nope'), 'S'), output: '{}' }, ROUTER_KEY));
            await attempt('not JSON', env.sfn('SendTaskSuccess', { taskToken: token, output: '{oops' }, ROUTER_KEY));
            await attempt('too large', env.sfn('SendTaskSuccess', { taskToken: token, output: JSON.stringify('x'.repeat(262144)) }, ROUTER_KEY));
            await attempt('no SendTaskSuccess in its role', env.sfn('SendTaskSuccess', { taskToken: token, output: '{}' }, accessKeyOf('launch-cluster')));
            const foreign = wellFormedToken('arn:aws:states:eu-west-1:123456789012:execution:another-stack-run:x', 'S');
            await attempt("another stack's token", env.sfn('SendTaskSuccess', { taskToken: foreign, output: '{}' }, ROUTER_KEY));
            await attempt('unknown caller', env.sfn('SendTaskHeartbeat', { taskToken: token }, 'AKIDNOBODY'));
          },
        },
        { after: 30, run: () => attempt('the answer', env.sfn('SendTaskSuccess', { taskToken: token, output: '{"n":1}' }, ROUTER_KEY)) },
        { after: 30, run: () => attempt('a second answer', env.sfn('SendTaskFailure', { taskToken: token, error: 'Late' }, ROUTER_KEY)) },
      ],
    });
    assert.equal(report.status, 'SUCCEEDED', explain(report));
    assert.deepEqual(report.output.status, { n: 1 }, 'the refused calls changed nothing');
    await attempt('after the end', env.sfn('SendTaskHeartbeat', { taskToken: report.callbackWaits[0].token }, ROUTER_KEY));
    assert.deepEqual(answers, [
      ['malformed', 'InvalidToken'],
      ['unknown', 'TaskDoesNotExist'],
      ['not JSON', 'InvalidOutput'],
      ['too large', 'ValidationException'],
      ['no SendTaskSuccess in its role', 'AccessDeniedException'],
      ["another stack's token", 'AccessDeniedException'],
      ['unknown caller', 'UnrecognizedClientException'],
      ['the answer', 'ok'],
      ['a second answer', 'TaskTimedOut'],
      ['after the end', 'TaskTimedOut'],
    ]);
  });
});

test("the execution's TimeoutSeconds ends a callback wait TIMED_OUT in virtual time; its token dies with it", async () => {
  await withRouter(async (env) => {
    const definition = { ...callbackDefinition({ payload: { do: 'ignore' }, timeout: {} }), TimeoutSeconds: 900 };
    const before = await env.emulator.now();
    const report = await run(env, definition);
    assert.equal(report.status, 'TIMED_OUT', explain(report));
    assert.equal(report.virtualSeconds, 900);
    assert.equal((await env.emulator.now()) - before, 900);
    assert.equal(report.callbackWaits[0].outcome, 'execution-ended');
    await assert.rejects(env.sfn('SendTaskSuccess', { taskToken: report.callbackWaits[0].token, output: '{}' }, ROUTER_KEY), { name: 'TaskTimedOut' });
  });
});

test('the local Step Functions endpoint: a callback Task\'s history events, as many as metrics().historyEvents counts; SendTask* there too', async () => {
  await withRouter(async (env) => {
    const definitions = { run: callbackDefinition({ payload: { do: 'ignore' }, timeout: { TimeoutSeconds: 300 } }) };
    const server = await new StepFunctionsServer(env, { definitions }).start();
    try {
      const call = (op, body) => callJson(`${server.url}/`, { target: `AWSStepFunctions.${op}`, contentType: 'application/x-amz-json-1.0', service: 'states', accessKeyId: ROUTER_KEY }, body);
      const { executionArn: arn } = await call('StartExecution', { stateMachineArn: stateMachineArn('run'), name: 'history', input: '{}' });
      await server.idle();
      const { events } = await call('GetExecutionHistory', { executionArn: arn, maxResults: 1000 });
      assert.deepEqual(
        events.map((e) => e.type),
        ['ExecutionStarted', 'TaskStateEntered', 'TaskScheduled', 'TaskStarted', 'TaskSubmitted', 'TaskTimedOut', 'TaskStateExited', 'PassStateEntered', 'PassStateExited', 'ExecutionSucceeded'],
      );
      const scheduled = events.find((e) => e.type === 'TaskScheduled').taskScheduledEventDetails;
      assert.deepEqual([scheduled.resourceType, scheduled.resource, scheduled.timeoutInSeconds], ['lambda', 'invoke.waitForTaskToken', 300]);
      assert.match(JSON.parse(scheduled.parameters).Payload.wait.taskToken, /^AQC/);
      assert.equal(events.find((e) => e.type === 'TaskTimedOut').taskTimedOutEventDetails.error, 'States.Timeout');
      const { report } = server.executions.get(arn);
      assert.equal(report.metrics.historyEvents, events.length);
      await assert.rejects(call('SendTaskSuccess', { taskToken: report.callbackWaits[0].token, output: '{}' }), { name: 'TaskTimedOut' });
    } finally {
      await server.stop();
    }
  });
});

test('lambda:invoke (request-response): the result is Step Functions\' wrapper of the answer', async () => {
  await withRouter(async (env) => {
    const definition = {
      StartAt: 'Invoke',
      States: {
        Invoke: { Type: 'Task', Resource: LAMBDA_INVOKE, Parameters: { FunctionName: functionArn('event-router'), Payload: { do: 'ignore' } }, End: true },
      },
    };
    const report = await run(env, definition);
    assert.equal(report.status, 'SUCCEEDED', explain(report));
    assert.equal(report.output.StatusCode, 200);
    assert.deepEqual(report.output.Payload, { ignored: true });
    assert.equal(report.invocations[0].historyEvents, 3);
  });
});

test('EMR events (emulator API stubbed): the wait jumps to the event, the rule delivers it to event-router, whose answer ends the wait', async () => {
  await withRouter(async (env) => {
    // The emulator's events API as the events-emulator branch specifies it, stubbed: one event, deliverable 1,234 s
    // into the wait, after a flaky one that Lambda's retries get through.
    const start = env.virtualNow;
    const stub = [
      { seq: 1, deliverAt: start + 600, event: { source: 'aws.emr', region: REGION, 'detail-type': 'EMR Cluster State Change', detail: { clusterId: 'j-1', state: 'RUNNING', flaky: true } } },
      { seq: 2, deliverAt: start + 1234, event: { source: 'aws.emr', region: REGION, 'detail-type': 'EMR Cluster State Change', detail: { clusterId: 'j-1', state: 'TERMINATED' } } },
      { seq: 3, deliverAt: start + 1300, event: { source: 'aws.emr', region: REGION, 'detail-type': 'EMR Cluster State Change', detail: { clusterId: 'j-1', state: 'STARTING' } } },
    ];
    env.emulator.nextChange = async () => ({ at: stub[0]?.deliverAt ?? null, now: env.virtualNow });
    env.emulator.takeEvents = async () => {
      const due = stub.filter((s) => s.deliverAt <= env.virtualNow);
      stub.splice(0, due.length);
      return due;
    };
    const definition = callbackDefinition({ payload: { do: 'remember', clusterId: 'j-1' } });
    const report = await run(env, definition);
    assert.equal(report.status, 'SUCCEEDED', explain(report));
    assert.deepEqual(report.output.status, { clusterId: 'j-1', state: 'TERMINATED' });
    assert.equal(report.callbackWaits[0].waitedSeconds, 1234);
    assert.equal(report.callbackWaits[0].answeredBy, 'event-router');
    assert.deepEqual(
      report.eventDeliveries.map((d) => [d.event.detail.state, d.attempts, d.at - start]),
      [
        ['RUNNING', 3, 600],
        ['TERMINATED', 1, 1234],
      ],
    );
    assert.equal(report.eventDeliveries[0].dropped, true, 'an always-failing event is dropped after 2 retries');
    // 1 invocation by the Task, 3 + 1 by the rule.
    assert.equal(report.metrics.lambdaInvocations['event-router'], 5);
    assert.equal(report.metrics.droppedEvents, 1);
    // The STARTING event is not delivered before its time; advance() delivers it, and the rule does not match it.
    await env.advance(100);
    assert.equal(env.eventDeliveries.length, 2);
    assert.equal(env.bus.unmatched.at(-1).event.detail.state, 'STARTING');
  });
});

test('a rule function whose binary is missing fails start(), unless named in optionalFunctions (then its events are dropped)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'dfr-callbacks-'));
  const saved = { CARGO_TARGET_DIR: process.env.CARGO_TARGET_DIR, DFR_PROFILE: process.env.DFR_PROFILE };
  try {
    const template = templateWithRouter(dir);
    // A target directory holding only the emulator: no function is built there, and the state machines' functions
    // are the stand-in worker.
    mkdirSync(join(dir, 'debug'));
    symlinkSync(binary('emr-emulator'), join(dir, 'debug', 'emr-emulator'));
    process.env.CARGO_TARGET_DIR = dir;
    delete process.env.DFR_PROFILE;
    // The reconciler is there too (as the worker): only event-router is missing.
    const functionBinaries = Object.fromEntries([...FUNCTIONS, 'reconciler'].map((f) => [f, WORKER]));
    await assert.rejects(withEnvironment({ template, functionBinaries }, async () => {}), /event-router: no binary/);
    await withEnvironment({ template, functionBinaries, optionalFunctions: ['event-router'] }, async (env) => {
      assert.deepEqual(env.missingFunctions, ['event-router']);
      const event = { source: 'aws.emr', region: REGION, 'detail-type': 'EMR Cluster State Change', detail: { state: 'TERMINATED' } };
      const [delivery] = await env.bus.deliver([{ seq: 1, deliverAt: 0, event }]);
      assert.deepEqual([delivery.fn, delivery.notRunning, delivery.dropped, delivery.attempts], ['event-router', true, true, 0]);
    });
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    rmSync(dir, { recursive: true, force: true });
  }
});
