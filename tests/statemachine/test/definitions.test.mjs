// Static checks on the four definitions: valid ASL, the deployment contract (substitutions,
// timeouts), retriers and catches on every Task, error names that exist, the 3-state poll loop
// the history budget relies on, and option defaults that match the execution-input schema.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import aslValidator from 'asl-validator';
import { definitionPath, functionOfArn, loadDefinition, MACHINES, placeholders, states } from '../lib/definitions.mjs';
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
  'run-transient': ['CheckStatusFunctionArn', 'LaunchClusterFunctionArn', 'TerminateClusterFunctionArn'],
  up: ['CheckStatusFunctionArn', 'LaunchClusterFunctionArn', 'TerminateClusterFunctionArn'],
  run: ['AddStepsFunctionArn', 'CheckStatusFunctionArn'],
  down: ['CheckStatusFunctionArn', 'TerminateClusterFunctionArn'],
};

const SCHEMA_DEFS = { 'run-transient': 'runTransient', up: 'up', run: 'run', down: 'down' };

/** The error names of functions/README.md's table, and which of them are retryable. */
function documentedErrors() {
  const readme = readFileSync(join(repoRoot, 'functions', 'README.md'), 'utf8');
  const rows = [...readme.matchAll(/^\| `([A-Za-z]+)` \|.*\| (yes|no) \|\s*$/gm)];
  assert.ok(rows.length >= 8, 'functions/README.md has its error table');
  return { all: rows.map((r) => r[1]), retryable: rows.filter((r) => r[2] === 'yes').map((r) => r[1]) };
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

const isFunction = (def, name, fn) => def.States[name].Type === 'Task' && functionOfArn(def.States[name].Resource) === fn;

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
        if (s.Type === 'Task') assert.match(s.Resource, /^\$\{[A-Za-z]+FunctionArn\}$/, name);
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
        assert.ok(s.TimeoutSeconds > 0, `${name}: TimeoutSeconds`);
        const service = s.Retry.find((r) => LAMBDA_SERVICE_ERRORS.every((e) => r.ErrorEquals.includes(e)));
        assert.ok(service, `${name}: a retrier for ${LAMBDA_SERVICE_ERRORS.join(', ')}`);
        const ours = s.Retry.find((r) => retryable.every((e) => r.ErrorEquals.includes(e)));
        assert.ok(ours, `${name}: a retrier for ${retryable.join(', ')}`);
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
      const [checkName, check] = tasks.find(([name]) => isFunction(def, name, 'check-status'));
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

    test('option defaults match the execution-input schema', () => {
      const schema = JSON.parse(readFileSync(join(repoRoot, 'schemas', 'execution-input.schema.json'), 'utf8'));
      const documented = Object.keys(schema.$defs[SCHEMA_DEFS[machine]].properties.options.properties).sort();
      const defaults = Object.keys(def.States['Read the input'].Parameters.optionDefaults).sort();
      assert.deepEqual(defaults, documented);
    });

    if (machine === 'run-transient' || machine === 'up') {
      test('every failure after the launch passes through a Task that terminates the cluster', () => {
        for (const [name, s] of tasks) {
          if (isFunction(def, name, 'terminate-cluster')) continue;
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

    if (machine === 'run') {
      test('never terminates the cluster', () => {
        assert.ok(!tasks.some(([name]) => isFunction(def, name, 'terminate-cluster')));
      });
    }
  });
}
