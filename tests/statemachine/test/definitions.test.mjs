// Static checks on the definitions (the four EMR ones, then EMR Serverless's run-transient): valid ASL, the deployment contract (substitutions,
// timeouts), retriers and catches on every Task, error names that exist, the 3-state poll loop
// the history budget relies on, and option defaults that match the execution-input schema.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import aslValidator from 'asl-validator';
import { allStates, definitionPath, functionOfArn, loadDefinition, MACHINES, placeholders, states } from '../lib/definitions.mjs';
import { repoRoot } from '../lib/paths.mjs';

const LAMBDA_SERVICE_ERRORS = [
  'Lambda.ServiceException',
  'Lambda.AWSLambdaException',
  'Lambda.SdkClientException',
  'Lambda.ClientExecutionTimeoutException',
  'Lambda.TooManyRequestsException',
];

/** Which functions each state machine may invoke (the template's DefinitionSubstitutions). */
const EXPECTED_SUBSTITUTIONS = {
  'run-transient': ['CheckStatusFunctionArn', 'LaunchClusterFunctionArn', 'LockFunctionArn', 'TerminateClusterFunctionArn'],
  up: ['CheckStatusFunctionArn', 'LaunchClusterFunctionArn', 'LockFunctionArn', 'TerminateClusterFunctionArn'],
  run: ['AddStepsFunctionArn', 'CheckStatusFunctionArn', 'LockFunctionArn'],
  down: ['CheckStatusFunctionArn', 'TerminateClusterFunctionArn'],
};

const SCHEMA_DEFS = { 'run-transient': 'runTransient', up: 'up', run: 'run', down: 'down' };
/** Input fields only the EMR Serverless machines read (the schema's descriptions say so): the EMR ones leave them out. */
const SERVERLESS_FIELDS = ['applicationId'];
const schema = JSON.parse(readFileSync(join(repoRoot, 'schemas', 'execution-input.schema.json'), 'utf8'));
/** A property's schema, its `$ref` into the schema's own `$defs` followed. */
const resolve = (s) => (s.$ref ? schema.$defs[s.$ref.replace('#/$defs/', '')] : s);

/** The error names of functions/README.md's table, and which of them are retryable. */
function documentedErrors() {
  const readme = readFileSync(join(repoRoot, 'functions', 'README.md'), 'utf8');
  const rows = [...readme.matchAll(/^\| `([A-Za-z]+)` \|.*\| (yes|no) \|\s*$/gm)];
  assert.ok(rows.length >= 8, 'functions/README.md has its error table');
  return { all: rows.map((r) => r[1]), retryable: rows.filter((r) => r[2] === 'yes').map((r) => r[1]) };
}

/**
 * Retryable names only EMR Serverless's functions raise (an application not ready yet): the Tasks that start a job
 * run or remove an application retry them; the others cannot meet them.
 */
const SERVERLESS_ONLY = ['ApplicationNotReady'];
const everywhere = (retryable) => retryable.filter((e) => !SERVERLESS_ONLY.includes(e));

/** The Choice rules of a definition (a Map's iteration's included) that test a type negatively (IsNull, IsPresent… false). */
function negativeTypeTests(def) {
  const negative = [];
  const walk = (rule) => {
    for (const [k, v] of Object.entries(rule)) if (/^Is[A-Z]/.test(k) && v === false) negative.push(JSON.stringify(rule));
    for (const r of [...(rule.And ?? []), ...(rule.Or ?? []), ...(rule.Not ? [rule.Not] : [])]) walk(r);
  };
  for (const [, s] of allStates(def)) for (const rule of s.Choices ?? []) walk(rule);
  return negative;
}

function successors(state) {
  const next = [];
  if (state.Next) next.push(state.Next);
  if (state.Default) next.push(state.Default);
  for (const c of state.Choices ?? []) next.push(c.Next);
  for (const c of state.Catch ?? []) next.push(c.Next);
  return next;
}

function reachable(def, from) {
  const seen = new Set();
  const todo = [from];
  while (todo.length) {
    const name = todo.pop();
    if (seen.has(name)) continue;
    seen.add(name);
    todo.push(...successors(def.States[name]));
  }
  return seen;
}

/** The lease margin the lock library adds to an execution timeout (crates/locks: LEASE_MARGIN_SECONDS). */
function leaseMargin() {
  const source = readFileSync(join(repoRoot, 'crates', 'locks', 'src', 'model.rs'), 'utf8');
  return Number(/pub const LEASE_MARGIN_SECONDS: u64 = (\d+);/.exec(source)[1]);
}

/** Step Functions' Lambda integrations that name the function in Parameters.FunctionName. */
const LAMBDA_INTEGRATIONS = ['arn:aws:states:::lambda:invoke', 'arn:aws:states:::lambda:invoke.waitForTaskToken'];
/** The function a Task invokes: its Resource, or the FunctionName of a Lambda integration. */
const functionOfTask = (state) =>
  LAMBDA_INTEGRATIONS.includes(state.Resource) ? functionOfArn(state.Parameters.FunctionName) : functionOfArn(state.Resource);
const isFunction = (def, name, fn) => def.States[name].Type === 'Task' && functionOfTask(def.States[name]) === fn;
/** The plain (request-response) check-status Task: the poll. */
const pollTask = (tasks, def) => tasks.find(([name, s]) => isFunction(def, name, 'check-status') && !LAMBDA_INTEGRATIONS.includes(s.Resource));

for (const machine of MACHINES) {
  describe(`${machine}.asl.json`, () => {
    const raw = readFileSync(definitionPath(machine), 'utf8');
    const def = loadDefinition(machine);
    const tasks = states(def).filter(([, s]) => s.Type === 'Task');

    test('is a valid States Language definition (asl-validator, paths and ARNs checked)', () => {
      const { isValid, errorsText } = aslValidator(def, { checkArn: true, checkPaths: true });
      assert.ok(isValid, errorsText?.('\n'));
    });

    test('names functions only through DefinitionSubstitutions, exactly the ones the stack gives it', () => {
      assert.deepEqual(placeholders(raw), EXPECTED_SUBSTITUTIONS[machine]);
      const rawDef = JSON.parse(raw);
      for (const [name, s] of Object.entries(rawDef.States)) {
        if (s.Type !== 'Task') continue;
        const fn = LAMBDA_INTEGRATIONS.includes(s.Resource) ? s.Parameters.FunctionName : s.Resource;
        assert.match(fn, /^\$\{[A-Za-z]+FunctionArn\}$/, name);
      }
      assert.doesNotMatch(raw, /arn:aws:lambda/);
    });

    test('has an execution timeout and every state is reachable', () => {
      assert.ok(Number.isInteger(def.TimeoutSeconds) && def.TimeoutSeconds > 0);
      assert.ok(def.Comment);
      assert.deepEqual([...reachable(def, def.StartAt)].sort(), Object.keys(def.States).sort());
    });

    test('every Task and Choice says what it does (Comment)', () => {
      for (const [name, s] of states(def)) {
        if (['Task', 'Choice', 'Fail'].includes(s.Type)) assert.ok(s.Comment, `${name} has a Comment`);
      }
    });

    test('every Task has a timeout, the Lambda service-exception retrier, retries on the retryable error names with FULL jitter, and a catch-all', () => {
      const { retryable } = documentedErrors();
      for (const [name, s] of tasks) {
        assert.ok(s.TimeoutSeconds > 0 || /^\$\./.test(s.TimeoutSecondsPath ?? ''), `${name}: TimeoutSeconds`);
        const service = s.Retry.find((r) => LAMBDA_SERVICE_ERRORS.every((e) => r.ErrorEquals.includes(e)));
        assert.ok(service, `${name}: a retrier for ${LAMBDA_SERVICE_ERRORS.join(', ')}`);
        const ours = s.Retry.find((r) => everywhere(retryable).every((e) => r.ErrorEquals.includes(e)));
        assert.ok(ours, `${name}: a retrier for ${everywhere(retryable).join(', ')}`);
        for (const r of s.Retry) {
          assert.equal(r.JitterStrategy, 'FULL', `${name}: JitterStrategy FULL`);
          assert.ok(r.BackoffRate >= 1.5 && r.MaxAttempts >= 3 && r.MaxDelaySeconds > 0, `${name}: backoff`);
        }
        assert.ok(s.Catch?.some((c) => c.ErrorEquals.includes('States.ALL')), `${name}: Catch States.ALL`);
        for (const c of s.Catch) assert.ok(c.ResultPath && c.ResultPath !== '$', `${name}: a Catch keeps the input`);
      }
    });

    test('retries only error names that exist, and never a non-retryable one', () => {
      const { all, retryable } = documentedErrors();
      for (const [name, s] of tasks) {
        for (const r of s.Retry) {
          for (const e of r.ErrorEquals) {
            const known = e.startsWith('States.') || e.startsWith('Lambda.') || e === 'Sandbox.Timedout' || all.includes(e);
            assert.ok(known, `${name}: ${e} is not an error any function or Step Functions raises`);
            if (all.includes(e)) assert.ok(retryable.includes(e), `${name}: ${e} is not retryable (functions/README.md)`);
          }
        }
      }
    });

    test('a poll is exactly Wait → check-status → Choice (9 history events), back to the Wait', () => {
      const waits = states(def).filter(([, s]) => s.Type === 'Wait' && s.SecondsPath === '$.status.nextPollSeconds');
      assert.equal(waits.length, 1);
      const [waitName, wait] = waits[0];
      assert.ok(isFunction(def, wait.Next, 'check-status'), `${waitName} leads to check-status`);
      const choiceName = def.States[wait.Next].Next;
      assert.equal(def.States[choiceName].Type, 'Choice');
      assert.equal(def.States[choiceName].Default, waitName);
    });

    test('every Task retries an unhandled function error (Lambda.Unknown, Sandbox.Timedout): each function is safe to run again', () => {
      for (const [name, s] of tasks) {
        const names = s.Retry.flatMap((r) => r.ErrorEquals);
        for (const e of ['Lambda.Unknown', 'Sandbox.Timedout', 'EmrThrottled', 'EmrUnavailable']) assert.ok(names.includes(e), `${name} retries ${e}`);
      }
    });

    test('a failed status check goes back to the wait loop; only AccessDenied, ClusterNotFound and InvalidConfig, or maxFailedChecks in a row, end the run', () => {
      const [checkName, check] = pollTask(tasks, def);
      assert.deepEqual(check.Catch[0].ErrorEquals, ['AccessDenied', 'ClusterNotFound', 'InvalidConfig']);
      assert.deepEqual(check.Catch[1].ErrorEquals, ['States.ALL']);
      const counted = reachable(def, check.Catch[1].Next);
      assert.ok(counted.has(checkName), 'checks again');
      assert.ok(counted.has('Describe the failed checks'));
      const choice = def.States['Too many failed checks?'];
      assert.equal(choice.Choices[0].NumericGreaterThanEqualsPath, '$.options.maxFailedChecks');
      for (const [name, st] of states(def)) {
        if (st.Parameters?.status && typeof st.Parameters.status === 'object') {
          assert.equal(st.Parameters.status.failedChecks, 0, `${name} starts the count of failed checks`);
        }
      }
    });

    test("option defaults are the execution-input schema's, by value, for every option and field it takes", () => {
      const input = schema.$defs[SCHEMA_DEFS[machine]];
      const options = input.properties.options.properties;
      const fromSchema = Object.fromEntries(Object.entries(options).map(([key, s]) => [key, resolve(s).default]));
      for (const [key, value] of Object.entries(fromSchema)) assert.notEqual(value, undefined, `the schema states ${key}'s default`);
      assert.deepEqual(def.States['Read the input'].Parameters.optionDefaults, fromSchema);
      // The other fields: the schema's default, or null when it has none (a required field stays null and the first
      // function rejects it; an absent lock is no lock).
      const fields = def.States['Apply the defaults'].Parameters.defaults;
      const emrFields = Object.keys(input.properties).filter((f) => !SERVERLESS_FIELDS.includes(f));
      assert.deepEqual(Object.keys(fields).sort(), emrFields.sort());
      for (const [field, value] of Object.entries(fields)) assert.deepEqual(value, resolve(input.properties[field]).default ?? null, field);
      if (machine !== 'down') {
        // The first wait for events, before any check: the backstop of a run's first moment with the default bounds.
        assert.equal(def.States['Prepare the run'].Parameters.status.backstopSeconds, fromSchema.minBackstopSeconds);
      }
    });

    if (machine !== 'down') {
      test('the first function a run calls gets the options to check against the schema, and timeoutSeconds ends inside the execution timeout', () => {
        const firsts = ['Acquire the lock', machine === 'run' ? 'Add steps' : 'Launch cluster'];
        for (const name of firsts) assert.deepEqual(def.States[name].Parameters.execution, { machine, 'options.$': '$.options' }, name);
        // An hour is left for the Timeout path (cancelling a run's steps, terminating a cluster, ending a lock).
        assert.ok(schema.$defs.timeoutSeconds.maximum + 3600 <= def.TimeoutSeconds || machine === 'up');
      });
    }

    if (machine === 'run-transient' || machine === 'up') {
      test('every failure after the launch passes through a Task that terminates the cluster', () => {
        for (const [name, s] of tasks) {
          // The lock's tasks come before the launch (acquire: nothing launched yet) or after the run's end.
          if (isFunction(def, name, 'terminate-cluster') || isFunction(def, name, 'lock')) continue;
          const after = reachable(def, s.Catch.find((c) => c.ErrorEquals.includes('States.ALL')).Next);
          const terminators = [...after].filter((n) => isFunction(def, n, 'terminate-cluster'));
          assert.ok(terminators.length > 0, `${name}: its Catch reaches a terminate-cluster Task`);
        }
        const failure = reachable(def, 'Describe the failure');
        assert.ok(failure.has('Terminate the cluster'));
      });

      test('launch-cluster gets the execution ARN as its run key (unique across state machines) and the attempt number', () => {
        const launch = def.States['Launch cluster'].Parameters.run;
        assert.equal(launch['key.$'], '$$.Execution.Id');
        assert.equal(launch['executionArn.$'], '$$.Execution.Id');
        assert.equal(launch['startedAt.$'], '$$.Execution.StartTime');
        assert.equal(launch['attempt.$'], '$.run.launchAttempt');
      });
    }

    if (machine !== 'down') {
      test('a lock is taken before anything is spent (test/locks.test.mjs runs it), for the execution, with a lease of the execution timeout plus the margin', () => {
        const acquire = def.States['Acquire the lock'];
        assert.ok(isFunction(def, 'Acquire the lock', 'lock'));
        assert.equal(acquire.Parameters.action, 'acquire');
        assert.equal(acquire.Parameters['owner.$'], '$$.Execution.Id');
        assert.equal(acquire.Parameters.leaseSeconds, def.TimeoutSeconds + leaseMargin());
        const free = def.States['Is there a lock?'];
        assert.deepEqual(free.Choices.map((c) => [c.Variable, c.IsNull]), [['$.lock', true]], 'without a lock, straight on');
        assert.equal(free.Default, 'Acquire the lock');
        const ours = def.States['Is the lock ours?'];
        assert.equal(ours.Choices[0].Next, free.Choices[0].Next, 'with it, on to the same first Task');
        assert.equal(ours.Default, 'Describe the held lock');
      });

      test("every end of a run passes its lock's end: released on success, released or kept on failure", () => {
        const fail = states(def).find(([, s]) => s.Type === 'Fail')[0];
        const into = states(def).filter(([, s]) => successors(s).includes(fail)).map(([n]) => n).sort();
        assert.deepEqual(into, ['Did the run hold a lock?', 'Release or keep the lock']);
        const end = def.States['Release or keep the lock'];
        assert.equal(end.Parameters.outcome, 'failed');
        assert.equal(end.Parameters['error.$'], '$.failure.error');
        const release = def.States['Release the lock'];
        assert.equal(release.Parameters.outcome, 'succeeded');
        assert.ok(release.Catch.every((c) => c.Next === release.Next), 'a release that fails still ends the run as it was');
        const choice = states(def).find(([, s]) => s.Type === 'Choice' && s.Choices.some((c) => c.Next === 'Release the lock'))[1];
        const first = choice.Choices.findIndex((c) => c.Next === 'Release the lock');
        const plain = choice.Choices.findIndex((c) => c.Next === release.Next);
        assert.ok(first >= 0 && first < plain, 'the release comes before the success without a lock');
      });
    }

    if (machine !== 'down') {
      test("waiting for EMR's events is the poll on a task token: same request, same catches, a lost event ends at the backstop with one poll", () => {
        const [checkName, check] = pollTask(tasks, def);
        const wait = def.States["Wait for EMR's events"];
        assert.equal(wait.Resource, 'arn:aws:states:::lambda:invoke.waitForTaskToken');
        assert.ok(isFunction(def, "Wait for EMR's events", 'check-status'));
        const { wait: token, ...request } = wait.Parameters.Payload;
        assert.deepEqual(request, check.Parameters, 'the request a wait stores is the poll');
        assert.deepEqual(token, {
          'taskToken.$': '$$.Task.Token',
          'execution.$': '$$.Execution.Id',
          'checkedAt.$': '$.status.checkedAt',
          'seconds.$': '$.status.backstopSeconds',
        });
        assert.equal(wait.TimeoutSecondsPath, '$.status.backstopSeconds');
        assert.equal(wait.ResultPath, check.ResultPath);
        assert.equal(wait.Next, check.Next, 'an answer is judged as a poll is');
        assert.deepEqual(wait.Catch[0], { ErrorEquals: ['States.Timeout'], ResultPath: '$.backstop', Next: checkName });
        assert.deepEqual(wait.Catch.slice(1), check.Catch);
        assert.ok(!wait.Retry.some((r) => r.ErrorEquals.includes('States.Timeout')), 'the backstop is not retried');
        const decide = def.States[check.Next];
        const events = decide.Choices.at(-1);
        assert.deepEqual(events, { Variable: '$.options.completion', StringEquals: 'events', Next: "Wait for EMR's events" });
        assert.equal(def.States['Read the input'].Parameters.optionDefaults.completion, 'events');
        const status = def.States['Prepare the run'].Parameters.status;
        assert.ok(status.backstopSeconds > 0 && status.checkedAt === null);
        for (const key of ['minBackstopSeconds', 'maxBackstopSeconds']) assert.equal(check.Parameters.options[`${key}.$`], `$.options.${key}`);
      });
    }

    test("a run with a budget first waits for events no longer than the schema's least minBackstopSeconds, by value", () => {
      const options = schema.$defs[SCHEMA_DEFS[machine]].properties.options.properties;
      const budgeted = 'maxInstanceHours' in options || 'maxCostUsd' in options;
      // Every Pass state that sets the backstop to a literal: the budget's first wait, only in a machine with a budget
      // (the others cut it to a timeout option, read from the input).
      const soon = states(def).filter(([, s]) => s.Type === 'Pass' && s.ResultPath === '$.status.backstopSeconds' && 'Result' in s);
      assert.deepEqual(soon.map(([name]) => name), budgeted ? ['Check the budget soon'] : []);
      if (!budgeted) return;
      const [[name, state]] = soon;
      const least = resolve(options.minBackstopSeconds).minimum;
      assert.ok(Number.isInteger(least) && least > 0, 'the schema states the least minBackstopSeconds');
      assert.equal(state.Result, least, `${name}'s Result is the schema's least minBackstopSeconds`);
      assert.equal(state.Next, "Wait for EMR's events");
      // Taken only by a run with a budget.
      const rules = states(def).flatMap(([, s]) => (s.Choices ?? []).filter((c) => c.Next === name));
      assert.equal(rules.length, 1);
      const tested = JSON.stringify(rules[0]);
      for (const path of ['$.options.maxInstanceHours', '$.options.maxCostUsd']) assert.ok(tested.includes(`"${path}"`), `${path} in ${tested}`);
    });

    test('no Choice rule tests a type negatively (IsNull, IsPresent… false), which the local interpreter evaluates as false', () => {
      assert.deepEqual(negativeTypeTests(def), [], 'use Not with the positive test');
    });

    if (machine === 'run') {
      test('never terminates the cluster', () => {
        assert.ok(!tasks.some(([name]) => isFunction(def, name, 'terminate-cluster')));
      });
    }
  });
}

describe('serverless-run-transient.asl.json', () => {
  const machine = 'serverless-run-transient';
  const raw = readFileSync(definitionPath(machine), 'utf8');
  const def = loadDefinition(machine);
  const emr = loadDefinition('run-transient');
  const all = allStates(def);
  const byName = Object.fromEntries(all);
  const tasks = all.filter(([, s]) => s.Type === 'Task');
  const map = def.States['Run the job runs'];
  const iteration = map.ItemProcessor;
  const task = (name) => byName[name];

  test('is a valid States Language definition (asl-validator, paths and ARNs checked)', () => {
    const { isValid, errorsText } = aslValidator(def, { checkArn: true, checkPaths: true });
    assert.ok(isValid, errorsText?.('\n'));
  });

  test('names functions only through DefinitionSubstitutions: all four functions and the lock', () => {
    assert.deepEqual(placeholders(raw), ['AddStepsFunctionArn', 'CheckStatusFunctionArn', 'LaunchClusterFunctionArn', 'LockFunctionArn', 'TerminateClusterFunctionArn']);
    assert.doesNotMatch(raw, /arn:aws:lambda/);
    for (const [name, s] of tasks) assert.ok(functionOfTask(s), `${name} invokes one of the stack's functions`);
  });

  test("has run-transient's execution timeout, every state is reachable in its scope, and every state name is unique", () => {
    assert.equal(def.TimeoutSeconds, emr.TimeoutSeconds);
    assert.ok(def.Comment);
    assert.deepEqual([...reachable(def, def.StartAt)].sort(), Object.keys(def.States).sort());
    assert.deepEqual([...reachable(iteration, iteration.StartAt)].sort(), Object.keys(iteration.States).sort());
    assert.equal(new Set(all.map(([n]) => n)).size, all.length);
  });

  test('every Task, Choice, Fail and Map says what it does (Comment)', () => {
    for (const [name, s] of all) if (['Task', 'Choice', 'Fail', 'Map'].includes(s.Type)) assert.ok(s.Comment, `${name} has a Comment`);
  });

  test('every Task has a timeout and the retriers (Lambda service errors, the retryable names, unhandled errors) with FULL jitter; failures are caught', () => {
    const { retryable } = documentedErrors();
    for (const [name, s] of tasks) {
      assert.ok(s.TimeoutSeconds > 0 || /^\$\./.test(s.TimeoutSecondsPath ?? ''), `${name}: TimeoutSeconds`);
      assert.ok(s.Retry.find((r) => LAMBDA_SERVICE_ERRORS.every((e) => r.ErrorEquals.includes(e))), `${name}: Lambda service retrier`);
      assert.ok(s.Retry.find((r) => everywhere(retryable).every((e) => r.ErrorEquals.includes(e))), `${name}: a retrier for ${everywhere(retryable).join(', ')}`);
      const waitsForTheApplication = s.Parameters?.target === 'serverless' && ['add-steps', 'terminate-cluster'].includes(functionOfTask(s));
      assert.equal(s.Retry.some((r) => r.ErrorEquals.includes('ApplicationNotReady')), waitsForTheApplication, `${name}: retries ApplicationNotReady`);
      const names = s.Retry.flatMap((r) => r.ErrorEquals);
      for (const e of ['Lambda.Unknown', 'Sandbox.Timedout']) assert.ok(names.includes(e), `${name} retries ${e}`);
      for (const r of s.Retry) {
        assert.equal(r.JitterStrategy, 'FULL', `${name}: JitterStrategy FULL`);
        assert.ok(r.BackoffRate >= 1.5 && r.MaxAttempts >= 3 && r.MaxDelaySeconds > 0, `${name}: backoff`);
        for (const e of r.ErrorEquals) {
          const known = e.startsWith('States.') || e.startsWith('Lambda.') || e === 'Sandbox.Timedout' || documentedErrors().all.includes(e);
          assert.ok(known, `${name}: ${e} is not an error any function or Step Functions raises`);
          if (documentedErrors().all.includes(e)) assert.ok(retryable.includes(e), `${name}: ${e} is not retryable (functions/README.md)`);
        }
      }
      // A Task of the iteration without a Catch fails the iteration, which the Map catches.
      if (!(name in iteration.States)) assert.ok(s.Catch?.some((c) => c.ErrorEquals.includes('States.ALL')), `${name}: Catch States.ALL`);
      for (const c of s.Catch ?? []) assert.ok(c.ResultPath && c.ResultPath !== '$', `${name}: a Catch keeps the input`);
    }
    assert.ok(map.Catch.some((c) => c.ErrorEquals.includes('States.ALL') && c.ResultPath !== '$'), 'the Map catches every failure of a step');
  });

  test("waiting for events, a job run's wait is a callback on check-status whose backstop check-status computes, and a timed-out wait is checked", () => {
    const wait = task("Wait for the job run's events");
    assert.equal(wait.Resource, 'arn:aws:states:::lambda:invoke.waitForTaskToken');
    assert.equal(functionOfTask(wait), 'check-status');
    assert.equal(wait.TimeoutSecondsPath, '$.status.backstopSeconds');
    assert.deepEqual(wait.Parameters.Payload.wait, {
      'taskToken.$': '$$.Task.Token',
      'execution.$': '$$.Execution.Id',
      'checkedAt.$': '$.status.checkedAt',
      'seconds.$': '$.status.backstopSeconds',
    });
    // The wait checks the same job run, with the same options, as an ordinary check.
    const { wait: _, ...payload } = wait.Parameters.Payload;
    assert.deepEqual(payload, task('Check the job run').Parameters);
    assert.ok(!wait.Retry.some((r) => r.ErrorEquals.includes('States.Timeout')), 'its backstop is not retried');
    assert.equal(wait.Catch.find((c) => c.ErrorEquals.includes('States.Timeout')).Next, 'Check the job run');
    const follow = task('How is the job run followed?');
    assert.deepEqual(follow.Choices, [{ Variable: '$.options.completion', StringEquals: 'events', Next: 'Check the job run' }]);
    assert.equal(follow.Default, 'Wait for the first check');
    const ended = task('Has the job run ended?');
    assert.deepEqual(ended.Choices.at(-1), { Variable: '$.options.completion', StringEquals: 'events', Next: "Wait for the job run's events" });
    assert.equal(ended.Default, 'Wait for the next check');
  });

  test("a failed check goes back to the check after options.maxPollSeconds; only AccessDenied, ClusterNotFound and InvalidConfig, or maxFailedChecks in a row, end the step, as run-transient's", () => {
    for (const name of ['Check the job run', "Wait for the job run's events"]) {
      const catches = task(name).Catch.filter((c) => !c.ErrorEquals.includes('States.Timeout'));
      assert.deepEqual(catches.map((c) => c.ErrorEquals), [['AccessDenied', 'ClusterNotFound', 'InvalidConfig'], ['States.ALL']], name);
      assert.deepEqual(catches[0].ErrorEquals, emr.States['Check the run'].Catch[0].ErrorEquals);
      assert.equal(catches[0].Next, 'Describe the check error', name);
      const counted = reachable(iteration, catches[1].Next);
      assert.ok(counted.has('Check the job run'), `${name}: checks again`);
      assert.ok(counted.has('Describe the failed checks'), name);
    }
    const choice = task('Too many failed checks?');
    assert.deepEqual(choice.Choices.map((c) => [c.Variable, c.NumericGreaterThanEqualsPath, c.Next]), [['$.status.failedChecks', '$.options.maxFailedChecks', 'Describe the failed checks']]);
    assert.equal(choice.Default, 'Wait the longest pause');
    assert.equal(task('Wait the longest pause').SecondsPath, emr.States['Wait the longest pause'].SecondsPath);
    assert.equal(task('Wait the longest pause').Next, 'Check the job run');
    // The count lives in $.status, which every check that answers replaces (check-status's answer has no count).
    for (const name of ['Count the first failed check', 'Count the failed check']) assert.equal(task(name).ResultPath, '$.status', name);
    assert.equal(task('Count the first failed check').Parameters.failedChecks, 1);
    assert.equal(task('Count the failed check').Parameters['failedChecks.$'], 'States.MathAdd($.status.failedChecks, 1)');
    for (const name of ['Check the job run', "Wait for the job run's events"]) assert.equal(task(name).ResultPath, '$.status', name);
    const described = task('Describe the failed checks');
    assert.equal(described.Parameters.error, 'StatusUnknown');
    assert.equal(described.Next, 'Cancel the job run');
    assert.equal(task('Describe the check error').Next, 'Cancel the job run');
  });

  test('the steps run one at a time, in order, each started with the execution and its index (the client token)', () => {
    assert.equal(map.MaxConcurrency, 1);
    assert.equal(map.ItemsPath, '$.launch.jobRuns');
    assert.equal(map.ItemSelector['index.$'], '$$.Map.Item.Index');
    const start = task('Start the job run');
    assert.equal(functionOfArn(start.Resource), 'add-steps');
    assert.equal(start.Parameters['execution.$'], '$$.Execution.Id');
    assert.equal(start.Parameters['index.$'], '$.index');
    assert.ok(start.Retry.some((r) => r.ErrorEquals.includes('ApplicationNotReady')), 'an application still being created is waited for');
    assert.deepEqual(task('Launch the application').Parameters.run['executionArn.$'], '$$.Execution.Id');
  });

  test("the options and the input's fields default as for run-transient on EMR (the same execution-input schema), with the application to reuse", () => {
    const { applicationId, ...emrFields } = def.States['Apply the defaults'].Parameters.defaults;
    assert.equal(applicationId, null);
    assert.deepEqual({ ...def.States['Apply the defaults'].Parameters, defaults: emrFields }, emr.States['Apply the defaults'].Parameters);
    assert.equal(task('Launch the application').Parameters['applicationId.$'], '$.applicationId');
    assert.deepEqual(def.States['Read the input'].Parameters, emr.States['Read the input'].Parameters);
    assert.deepEqual(task('Launch the application').Parameters.execution, { machine: 'run-transient', 'options.$': '$.options' });
    assert.deepEqual(task('Acquire the lock').Parameters.execution, { machine: 'run-transient', 'options.$': '$.options' });
  });

  test('a lock is taken before anything is spent, for the execution, with a lease of the execution timeout plus the margin', () => {
    const acquire = task('Acquire the lock');
    assert.equal(acquire.Parameters.leaseSeconds, def.TimeoutSeconds + leaseMargin());
    assert.equal(def.States['Is there a lock?'].Choices[0].Next, 'Launch the application');
    assert.equal(def.States['Is the lock ours?'].Choices[0].Next, 'Launch the application');
  });

  test('every failure passes the cleanup of the application (when one was launched) and the end of the lock', () => {
    const fail = 'Run failed';
    const into = states(def).filter(([, s]) => successors(s).includes(fail)).map(([n]) => n).sort();
    assert.deepEqual(into, ['Did the run hold a lock?', 'Release or keep the lock']);
    const cleanupChoice = def.States['Is there an application to clean up?'];
    assert.deepEqual(cleanupChoice.Choices.map((c) => c.Next), ['Did the run hold a lock?', 'Clean up after the failure']);
    assert.equal(def.States['Write the failure cause'].Next, 'Is there an application to clean up?');
    for (const name of ['Clean up the application', 'Clean up after the failure', 'Cancel the job run']) {
      assert.equal(functionOfArn(task(name).Resource), 'terminate-cluster', name);
      assert.equal(task(name).Parameters.target, 'serverless', name);
    }
    // Every state that describes a failure goes to the cause, which goes to the cleanup.
    for (const [name, s] of states(def)) if (/^Describe /.test(name)) assert.equal(s.Next, 'Write the failure cause', name);
  });

  test('no Choice rule tests a type negatively (IsNull, IsPresent… false), which the local interpreter evaluates as false', () => {
    assert.deepEqual(negativeTypeTests(def), [], 'use Not with the positive test');
  });
});

/** serverless-up and serverless-down: up and down on EMR Serverless, around launch-cluster and terminate-cluster. */
const SERVERLESS_APPLICATION_MACHINES = {
  'serverless-up': {
    substitutions: ['LaunchClusterFunctionArn', 'LockFunctionArn', 'TerminateClusterFunctionArn'],
    // The Tasks that wait for the application to be ready (started, or stopped and deleted).
    waiting: ['Delete the application', 'Start the application'],
    fail: 'Up failed',
  },
  'serverless-down': { substitutions: ['TerminateClusterFunctionArn'], waiting: ['Delete the application'], fail: 'Down failed' },
};

for (const [machine, expected] of Object.entries(SERVERLESS_APPLICATION_MACHINES)) {
  describe(`${machine}.asl.json`, () => {
    const raw = readFileSync(definitionPath(machine), 'utf8');
    const def = loadDefinition(machine);
    const tasks = states(def).filter(([, s]) => s.Type === 'Task');

    test('is a valid States Language definition (asl-validator, paths and ARNs checked)', () => {
      const { isValid, errorsText } = aslValidator(def, { checkArn: true, checkPaths: true });
      assert.ok(isValid, errorsText?.('\n'));
    });

    test('names functions only through DefinitionSubstitutions, exactly the ones the stack gives it, each for EMR Serverless', () => {
      assert.deepEqual(placeholders(raw), expected.substitutions);
      assert.doesNotMatch(raw, /arn:aws:lambda/);
      for (const [name, s] of tasks) if (!isFunction(def, name, 'lock')) assert.equal(s.Parameters.target, 'serverless', name);
    });

    test('has an execution timeout, every state is reachable, and every Task, Choice and Fail says what it does', () => {
      assert.ok(Number.isInteger(def.TimeoutSeconds) && def.TimeoutSeconds > 0 && def.Comment);
      assert.deepEqual([...reachable(def, def.StartAt)].sort(), Object.keys(def.States).sort());
      for (const [name, s] of states(def)) if (['Task', 'Choice', 'Fail'].includes(s.Type)) assert.ok(s.Comment, `${name} has a Comment`);
    });

    test('every Task has a timeout and the retriers with FULL jitter, retries ApplicationNotReady exactly where it waits for the application, and catches every failure', () => {
      const { all, retryable } = documentedErrors();
      for (const [name, s] of tasks) {
        assert.ok(s.TimeoutSeconds > 0, `${name}: TimeoutSeconds`);
        assert.ok(s.Retry.find((r) => LAMBDA_SERVICE_ERRORS.every((e) => r.ErrorEquals.includes(e))), `${name}: Lambda service retrier`);
        assert.ok(s.Retry.find((r) => everywhere(retryable).every((e) => r.ErrorEquals.includes(e))), `${name}: the retryable names`);
        const names = s.Retry.flatMap((r) => r.ErrorEquals);
        assert.equal(names.includes('ApplicationNotReady'), expected.waiting.includes(name), `${name}: retries ApplicationNotReady`);
        for (const e of ['Lambda.Unknown', 'Sandbox.Timedout']) assert.ok(names.includes(e), `${name} retries ${e}`);
        for (const r of s.Retry) {
          assert.equal(r.JitterStrategy, 'FULL', `${name}: JitterStrategy FULL`);
          assert.ok(r.BackoffRate >= 1.5 && r.MaxAttempts >= 3 && r.MaxDelaySeconds > 0, `${name}: backoff`);
          for (const e of r.ErrorEquals) {
            const known = e.startsWith('States.') || e.startsWith('Lambda.') || e === 'Sandbox.Timedout' || all.includes(e);
            assert.ok(known, `${name}: ${e} is not an error any function or Step Functions raises`);
            if (all.includes(e)) assert.ok(retryable.includes(e), `${name}: ${e} is not retryable`);
          }
        }
        assert.ok(s.Catch?.some((c) => c.ErrorEquals.includes('States.ALL')), `${name}: Catch States.ALL`);
        for (const c of s.Catch) assert.ok(c.ResultPath && c.ResultPath !== '$', `${name}: a Catch keeps the input`);
      }
    });

    test('no Choice rule tests a type negatively (IsNull, IsPresent… false), which the local interpreter evaluates as false', () => {
      assert.deepEqual(negativeTypeTests(def), [], 'use Not with the positive test');
    });

    if (machine === 'serverless-up') {
      test("takes up's execution input: its fields but the playbook, up's option defaults by value, checked by the first functions", () => {
        const up = loadDefinition('up');
        assert.deepEqual(def.States['Read the input'].Parameters, up.States['Read the input'].Parameters);
        const fields = Object.keys(def.States['Apply the defaults'].Parameters.defaults).sort();
        assert.deepEqual(fields, Object.keys(schema.$defs.up.properties).filter((f) => f !== 'playbook').sort());
        for (const name of ['Acquire the lock', 'Create the application']) assert.deepEqual(def.States[name].Parameters.execution, { machine: 'up', 'options.$': '$.options' }, name);
        const create = def.States['Create the application'].Parameters;
        assert.equal(create.playbook, null, 'the application alone: no job runs');
        assert.equal(create['applicationId.$'], undefined, 'never a reused application');
        assert.equal(create.run['executionArn.$'], '$$.Execution.Id', "tagged as this execution's: the client token and the cleanup rule know it");
      });

      test('a lock is taken before anything is spent, with a lease of the execution timeout plus the margin, and ended on every end', () => {
        assert.equal(def.TimeoutSeconds, loadDefinition('up').TimeoutSeconds);
        assert.equal(def.States['Acquire the lock'].Parameters.leaseSeconds, def.TimeoutSeconds + leaseMargin());
        assert.equal(def.States['Is there a lock?'].Choices[0].Next, 'Create the application');
        assert.equal(def.States['Is the lock ours?'].Choices[0].Next, 'Create the application');
        const into = states(def).filter(([, s]) => successors(s).includes(expected.fail)).map(([n]) => n).sort();
        assert.deepEqual(into, ['Did the run hold a lock?', 'Release or keep the lock']);
        assert.equal(def.States['Release the lock'].Parameters.outcome, 'succeeded');
      });

      test('every failure after the launch passes the deletion of the application; the success hands it over untouched', () => {
        for (const [name, s] of states(def)) if (/^Describe /.test(name)) assert.equal(s.Next, 'Write the failure cause', name);
        assert.equal(def.States['Write the failure cause'].Next, 'Is there an application to delete?');
        const del = def.States['Delete the application'];
        assert.ok(isFunction(def, 'Delete the application', 'terminate-cluster'));
        assert.equal(del.Parameters['created.$'], '$.launch.created');
        const success = reachable(def, 'Did the run take a lock?');
        assert.ok(!success.has('Delete the application'), 'a started application is never deleted by up');
        assert.ok(reachable(def, def.States['Start the application'].Catch[0].Next).has('Delete the application'));
      });
    }

    if (machine === 'serverless-down') {
      test("takes down's execution input with an application, and deletes it only as down (this stack's up's, created)", () => {
        assert.deepEqual(def.States['Apply the defaults'].Parameters.defaults, { applicationId: null, options: {} });
        assert.ok('applicationId' in schema.$defs.down.properties);
        const del = def.States['Delete the application'].Parameters;
        assert.equal(del.down, true);
        assert.equal(del.created, true);
        assert.deepEqual(del.jobRunIds, []);
        for (const [name, s] of states(def)) if (/^Describe /.test(name)) assert.equal(s.Next, 'Write the failure cause', name);
      });
    }
  });
}
