// Runs the real state machine definitions in aws-local-stepfunctions, each Task invoking the real
// Lambda binary (through lambda-runtime.mjs), which talks to the EMR emulator, to moto's DynamoDB (the stack's lock
// table) and, when asked, to moto's S3. When an execution ends, the stack's EventBridge rules (read from
// infra/template.yaml) send its status-change event to their functions, as on AWS.
//
// Virtual time. The emulator's clock is frozen; when the execution enters a Wait state the harness
// notes the seconds the definition asks for (Seconds or SecondsPath, evaluated on the state's
// input), lets the Wait finish at once, and advances the emulator by exactly that much before the
// next Task runs. So the states, polls and EMR calls are those of the real definition, and a
// 14-day job takes seconds. Retry pauses are not simulated (they are cut to 1 ms and cost no
// virtual time).
//
// The Lambdas read the machine's clock, not the emulator's. check-status is the one function whose
// result depends on "now": its polling delay grows with now - `since`. So the harness hands it
// `since` translated into the Lambda's clock (now minus the virtual time elapsed since `since`),
// which makes the Lambda compute exactly the virtual elapsed time. Nothing else is changed.

import './polyfill.mjs';
import { ExecutionAbortedError, ExecutionError, ExecutionTimeoutError, StateMachine } from 'aws-local-stepfunctions';
import { Emulator } from './emulator.mjs';
import { FUNCTIONS, functionOfArn, loadDefinition, states } from './definitions.mjs';
import { createTable, dynamodb, DynamoDbGuard } from './dynamodb.mjs';
import { LambdaPool } from './lambda-runtime.mjs';
import { Moto } from './moto.mjs';
import { S3Guard } from './s3-guard.mjs';
import { gzipSync } from 'node:zlib';
import { binary } from './paths.mjs';
import {
  ACCOUNT,
  callJson,
  FUNCTION_LOGICAL_IDS,
  OPERATOR_ACCESS_KEY,
  REGION,
  executionArn as arnOf,
  functionEnv,
  stackIam,
  stateMachineArn,
} from './stack.mjs';

export { CONFIG_BUCKET, SECRET_ACCESS_KEY, SESSION_TOKEN, STACK } from './stack.mjs';

let executionCounter = 0;

/** Step Functions' limit on a state's input and output, a task's result and an execution's input (UTF-8 bytes). */
export const PAYLOAD_LIMIT = 256 * 1024;
const bytes = (value) => Buffer.byteLength(JSON.stringify(value ?? null), 'utf8');
/** The stack's rules on `Step Functions Execution Status Change` events, by logical id. */
const RULES = ['CleanupRule', 'LockCleanupRule'];
/** Environments alive in this process: they share its moto, which each one empties when it starts. */
let alive = 0;

function valueAt(path, input) {
  if (path === '$') return input;
  let v = input;
  for (const key of path.replace(/^\$\./, '').split('.')) {
    if (v === null || typeof v !== 'object') return undefined;
    v = v[key];
  }
  return v;
}

/**
 * Seconds a Wait state asks for, given its input. The interpreter does not evaluate a Wait whose
 * duration is overridden, so this is where a bad SecondsPath must fail, as it would on AWS.
 */
function waitSeconds(name, state, input) {
  if (typeof state.Seconds === 'number') return state.Seconds;
  if (state.SecondsPath) {
    const seconds = valueAt(state.SecondsPath, input);
    if (!Number.isInteger(seconds) || seconds < 0) {
      throw new Error(`Wait "${name}": SecondsPath ${state.SecondsPath} is ${JSON.stringify(seconds)}, not a non-negative integer (States.Runtime on AWS)`);
    }
    return seconds;
  }
  throw new Error(`Wait "${name}": only Seconds and SecondsPath are simulated`);
}

export class Environment {
  /**
   * @param {{scenario?: object, faults?: object, s3?: boolean, log?: (line: string) => void,
   *          template?: string, parameters?: Record<string,string>, functionEnv?: Record<string,string>}} options
   *   s3: give the functions moto's S3 (otherwise S3 is a closed port); DynamoDB (the lock table) is always there;
   *   template: the SAM template whose roles' policies authorize every EMR, S3 and DynamoDB call (default
   *   infra/template.yaml), whose lock table is created and whose rules route the ends of executions;
   *   parameters: its parameter values (ConfigBucket is the test bucket unless given);
   *   functionEnv: more environment for every function (e.g. AWS_MAX_ATTEMPTS).
   */
  static async start(options = {}) {
    const env = new Environment(options);
    try {
      await env.boot();
    } catch (e) {
      await env.stop();
      throw e;
    }
    return env;
  }

  constructor({ scenario, faults, s3 = false, log, template, parameters, functionEnv: extraEnv } = {}) {
    this.options = { scenario, faults, s3, template, parameters, extraEnv };
    this.log = log ?? (process.env.DFR_HARNESS_LOG ? (line) => process.stderr.write(`${line}\n`) : undefined);
    this.functions = {};
    this.pendingAdvance = 0;
  }

  async boot() {
    if (alive > 0) throw new Error('one Environment at a time per process: they share moto, which each one empties');
    alive += 1;
    this.counted = true;
    const iam = stackIam({ template: this.options.template, parameters: this.options.parameters });
    this.iam = iam;
    this.emulator = await new Emulator({ log: this.log }).start();
    await this.emulator.setIam(iam);
    this.virtualNow = this.emulator.startedAt;
    if (this.options.scenario) await this.emulator.setScenario(this.options.scenario);
    if (this.options.faults) await this.emulator.setFaults(this.options.faults);
    this.moto = await Moto.shared();
    await this.moto.reset();
    if (this.options.s3) this.s3 = await new S3Guard({ target: this.moto.url, emulator: this.emulator }).start();
    this.dynamodb = await new DynamoDbGuard({ target: this.moto.url, emulator: this.emulator }).start();
    this.lockTable = await createTable(this.moto.url, await this.emulator.resource(iam, 'LockTable'));
    this.rules = await this.loadRules();
    const endpoints = {
      AWS_ENDPOINT_URL_EMR: this.emulator.url,
      // Without moto, S3 points at a closed port: an s3:// config then fails like an unreachable S3.
      AWS_ENDPOINT_URL_S3: this.s3?.url ?? 'http://127.0.0.1:9',
      AWS_ENDPOINT_URL_DYNAMODB: this.dynamodb.url,
    };
    for (const fn of FUNCTIONS) {
      const env = { ...endpoints, ...functionEnv(fn, iam.parameters), ...this.options.extraEnv };
      if (fn === 'lock') env.DFR_LOCK_TABLE = this.lockTable;
      const f = new LambdaPool(fn, binary(fn), env, { log: this.log });
      await f.start();
      this.functions[fn] = f;
    }
  }

  /** The stack's rules on the ends of executions: which statuses of which state machines go to which function. */
  async loadRules() {
    const arns = {};
    for (const [fn, id] of Object.entries(FUNCTION_LOGICAL_IDS)) {
      arns[(await this.emulator.resource(this.iam, id)).Attributes.Arn] = fn;
    }
    const rules = [];
    for (const id of RULES) {
      const rule = (await this.emulator.resource(this.iam, id)).Properties;
      const detail = rule.EventPattern.detail;
      for (const target of rule.Targets) {
        rules.push({ rule: id, statuses: detail.status, stateMachines: detail.stateMachineArn, fn: arns[target.Arn] });
      }
    }
    return rules;
  }

  /** Calls the lock table's DynamoDB API as `accessKeyId` (through IAM), e.g. as an operator. */
  locks(operation, body, accessKeyId) {
    return dynamodb(this.dynamodb.url, operation, { TableName: this.lockTable, ...body }, accessKeyId);
  }

  /** Advance the emulator by the Wait time the execution has gone through since the last call. */
  async syncClock() {
    if (this.pendingAdvance > 0) {
      const seconds = this.pendingAdvance;
      this.pendingAdvance = 0;
      await this.emulator.advance(seconds);
      this.virtualNow += seconds;
    }
  }

  /** Let virtual time pass outside any execution (e.g. a cluster terminating after the run). */
  async advance(seconds) {
    await this.syncClock();
    await this.emulator.advance(seconds);
    this.virtualNow += seconds;
  }

  async clusters() {
    return this.emulator.clusters();
  }

  /**
   * Calls EMR's JSON API as someone else in the account (full EMR access): for clusters this stack did not
   * launch. The emulator reads the caller from the SigV4 credential scope and checks no signature.
   */
  emrAsOperator(operation, body, region = REGION) {
    const api = { target: `ElasticMapReduce.${operation}`, contentType: 'application/x-amz-json-1.1', service: 'elasticmapreduce' };
    return callJson(`${this.emulator.url}/`, { ...api, accessKeyId: OPERATOR_ACCESS_KEY, region }, body);
  }

  /**
   * Runs one execution to its end.
   * @param {string} machine run-transient | up | run | down
   * @param {object} input execution input
   * @param {{name?: string, definition?: object, repeatTasks?: boolean, inject?: Function, injectAfter?: Function, countCallsPerInvocation?: boolean}} options
   *   definition: used instead of the file's (bench variants); repeatTasks: invoke every Task's
   *   function twice with the same event and use the second answer, as a retry or a redrive of a
   *   state that already took effect would; inject({fn, state, attempt}): an error to fail that
   *   invocation with instead of invoking the function (a Lambda service fault, a crashed function);
   *   injectAfter({fn, state, attempt, output}): an error to report after the function ran (it took effect, then
   *   its answer was lost, e.g. the function timed out);
   *   countCallsPerInvocation: record the EMR calls each invocation made (record.emrCalls);
   *   beforeTask({fn, state, attempt, env}): awaited before each Task's invocation (act on EMR as someone else);
   *   stopWhen({fn, state, attempt}): stop the execution (StopExecution) as that invocation starts; the
   *   invocation goes on, as a Lambda invocation does after its execution was stopped;
   *   onEvent(event): each event as it happens: the interpreter's, and {type: 'LambdaSucceeded' | 'LambdaFailed',
   *   state, fn, output | error} for each invocation (the local Step Functions endpoint builds histories from them);
   *   control: an object the harness gives `stop()` (StopExecution) once the execution runs;
   *   lostEvents: functions whose rule deliveries of this execution's end are lost (e.g. ['lock']).
   * As on AWS: an execution input, state input or output, or task result over 256 KiB fails the execution with
   * States.DataLimitExceeded; an execution past its definition's TimeoutSeconds (in virtual time) ends TIMED_OUT;
   * and the end of the execution goes to the functions the stack's rules send it to: an ABORTED, TIMED_OUT or FAILED
   * run-transient or up to terminate-cluster (report.cleanup), every end of run-transient, up and run to lock
   * (report.lockCleanup).
   */
  async run(
    machine,
    input,
    {
      name,
      definition,
      repeatTasks = false,
      inject,
      injectAfter,
      countCallsPerInvocation = false,
      beforeTask,
      stopWhen,
      onEvent,
      control,
      lostEvents = [],
    } = {},
  ) {
    if (bytes(input) > PAYLOAD_LIMIT) {
      const e = new Error(`StartExecution: the input is ${bytes(input)} bytes, over Step Functions' ${PAYLOAD_LIMIT}`);
      e.name = 'ValidationException';
      throw e;
    }
    const def = definition ?? loadDefinition(machine);
    executionCounter += 1;
    const executionName = name ?? `${machine}-${process.pid}-${executionCounter}`;
    const executionArn = arnOf(machine, executionName);
    const stateByName = Object.fromEntries(states(def));
    const report = {
      machine,
      name: executionName,
      executionArn,
      input,
      events: [],
      invocations: [],
    };
    const callsBefore = await this.emulator.calls();
    await this.syncClock();
    const startVirtual = this.virtualNow;
    const startReal = Date.now() / 1000;
    const elapsed = () => this.virtualNow + this.pendingAdvance - startVirtual;

    let execution;
    let harnessError;
    let ended; // how the harness ended the execution: {status, error?, cause?}
    const stop = (status, error, cause) => {
      if (ended) return;
      ended = { status, error, cause, stoppedAt: Date.now() };
      execution.abort();
    };
    const limitExceeded = (what, size) =>
      stop('FAILED', 'States.DataLimitExceeded', `${what} is ${size} bytes, over the ${PAYLOAD_LIMIT}-byte limit for a state's data`);
    const handlers = {};
    const retryOverrides = {};
    const waitOverrides = {};
    for (const [stateName, state] of states(def)) {
      if (state.Type === 'Wait') waitOverrides[stateName] = 0;
      if (state.Type !== 'Task') continue;
      retryOverrides[stateName] = 1;
      const fn = functionOfArn(state.Resource);
      if (!fn) throw new Error(`${machine}: state "${stateName}" invokes ${state.Resource}, which is not one of ${FUNCTIONS.join(', ')}`);
      handlers[stateName] = async (taskInput) => {
        // Let the event log catch up (it tells how long the preceding Wait was), then move virtual time.
        await new Promise((resolve) => setImmediate(resolve));
        await this.syncClock();
        let event = taskInput;
        if (fn === 'check-status' && typeof taskInput?.since === 'string') {
          const sinceVirtual = startVirtual + (Date.parse(taskInput.since) / 1000 - startReal);
          const sinceForLambda = Date.now() / 1000 - (this.virtualNow - sinceVirtual);
          event = { ...taskInput, since: new Date(sinceForLambda * 1000).toISOString() };
        }
        const record = { fn, state: stateName, at: elapsed(), virtualTime: this.virtualNow, input: taskInput };
        report.invocations.push(record);
        const callsBeforeInvocation = countCallsPerInvocation ? (await this.emulator.calls()).total : 0;
        try {
          const attempt = report.invocations.filter((i) => i.fn === fn).length;
          await beforeTask?.({ fn, state: stateName, attempt, env: this });
          if (stopWhen?.({ fn, state: stateName, attempt })) {
            const invocation = this.functions[fn].invoke(event).catch(() => undefined);
            report.inFlightAtStop = invocation;
            stop('ABORTED');
            return await invocation;
          }
          const injected = inject?.({ fn, state: stateName, attempt });
          if (injected) throw injected;
          if (repeatTasks) {
            record.firstOutput = await this.functions[fn].invoke(event);
          }
          record.output = await this.functions[fn].invoke(event);
          const lost = injectAfter?.({ fn, state: stateName, attempt, output: record.output });
          if (lost) throw lost;
          if (bytes(record.output) > PAYLOAD_LIMIT) limitExceeded(`the result of ${stateName}`, bytes(record.output));
          onEvent?.({ type: 'LambdaSucceeded', state: stateName, fn, output: record.output });
          return record.output;
        } catch (e) {
          record.error = { name: e.name, message: e.message };
          onEvent?.({ type: 'LambdaFailed', state: stateName, fn, error: record.error });
          throw e;
        } finally {
          if (countCallsPerInvocation) record.emrCalls = (await this.emulator.calls()).total - callsBeforeInvocation;
        }
      };
    }

    const machineRunner = new StateMachine(def, { validationOptions: { checkArn: true, checkPaths: true } });
    if (control) control.stop = () => stop('ABORTED');
    execution = machineRunner.run(input, {
      overrides: { taskResourceLocalHandlers: handlers, waitTimeOverrides: waitOverrides, retryIntervalOverrides: retryOverrides },
      context: { Execution: { Name: executionName, Id: executionArn, RoleArn: `arn:aws:iam::${ACCOUNT}:role/dataflow-runner` } },
    });
    const consumed = (async () => {
      for await (const ev of execution.eventLogs) {
        const entry = { ...ev, at: elapsed() };
        report.events.push(entry);
        onEvent?.(ev);
        if (ev.type === 'StateEntered' && bytes(ev.state.input) > PAYLOAD_LIMIT) limitExceeded(`the input of ${ev.state.name}`, bytes(ev.state.input));
        if (ev.type === 'StateExited' && bytes(ev.state.output) > PAYLOAD_LIMIT) limitExceeded(`the output of ${ev.state.name}`, bytes(ev.state.output));
        if (ev.type === 'StateEntered' && stateByName[ev.state.name]?.Type === 'Wait') {
          try {
            const seconds = waitSeconds(ev.state.name, stateByName[ev.state.name], ev.state.input);
            entry.waitSeconds = seconds;
            this.pendingAdvance += seconds;
            if (def.TimeoutSeconds && elapsed() > def.TimeoutSeconds) stop('TIMED_OUT');
          } catch (e) {
            harnessError ??= e;
            execution.abort();
          }
        }
      }
    })();

    try {
      report.output = await execution.result;
      report.status = 'SUCCEEDED';
    } catch (e) {
      if (e instanceof ExecutionTimeoutError) {
        report.status = 'TIMED_OUT';
      } else if (e instanceof ExecutionError) {
        report.status = 'FAILED';
        report.error = e.cause?.name;
        report.cause = e.cause?.message;
        try {
          report.causeJson = JSON.parse(report.cause);
        } catch {
          report.causeJson = undefined;
        }
      } else if (e instanceof ExecutionAbortedError && ended && !harnessError) {
        report.status = ended.status;
        report.error = ended.error;
        report.cause = ended.cause;
      } else {
        await consumed;
        throw harnessError ?? e;
      }
    }
    await consumed;
    if (harnessError) throw harnessError;
    // The event log is read while the execution runs on: a limit found in it may come after the last state.
    if (ended && report.status === 'SUCCEEDED') {
      Object.assign(report, { status: ended.status, error: ended.error, cause: ended.cause, output: undefined });
    }
    await report.inFlightAtStop;
    await this.syncClock();
    report.virtualSeconds = this.virtualNow - startVirtual;
    const callsAfter = await this.emulator.calls();
    report.emrCalls = diffCalls(callsBefore, callsAfter);
    const delivered = await this.executionEnded(
      { machine, executionArn, name: executionName, status: report.status, error: report.error, cause: report.cause },
      { startedAt: startReal, stoppedAt: ended?.stoppedAt ?? Date.now(), lostEvents },
    );
    if (delivered['terminate-cluster']) {
      report.cleanup = delivered['terminate-cluster'];
      report.cleanup.emrCalls = diffCalls(callsAfter, await this.emulator.calls());
    }
    if (delivered.lock) report.lockCleanup = delivered.lock;
    report.metrics = metrics(report, def);
    report.launchedClusterIds = [
      ...new Set(report.invocations.filter((i) => i.fn === 'launch-cluster' && i.output?.clusterId).map((i) => i.output.clusterId)),
    ];
    return report;
  }

  /**
   * EMR's log push: the step logs the emulator says were uploaded by now (virtual time), gzipped into the local S3
   * under each cluster's LogUri. Needs the environment's S3 (`s3: true`).
   */
  async uploadStepLogs() {
    const { logs } = await this.emulator.admin('GET', 'step-logs');
    for (const log of logs) {
      await this.moto.createBucket(log.bucket);
      await this.moto.putBytes(log.bucket, log.key, gzipSync(Buffer.from(log.text, 'utf8')));
    }
    return logs.length;
  }

  /**
   * What the stack's rules do when an execution ends: each function a matching rule targets gets the execution's
   * `Step Functions Execution Status Change` event (at the same time, as EventBridge delivers them). Returns each
   * function's answer ({output} or {error}) by function name.
   */
  async executionEnded({ machine, executionArn, name, status, error, cause }, { startedAt, stoppedAt, lostEvents = [] }) {
    const event = {
      version: '0',
      'detail-type': 'Step Functions Execution Status Change',
      source: 'aws.states',
      account: ACCOUNT,
      region: REGION,
      resources: [executionArn],
      detail: {
        executionArn,
        stateMachineArn: stateMachineArn(machine),
        name,
        status,
        startDate: Math.round(startedAt * 1000),
        stopDate: Math.round(stoppedAt),
        ...(status === 'FAILED' ? { error: error ?? null, cause: cause ?? null } : {}),
      },
    };
    const targets = this.rules.filter(
      (r) => r.statuses.includes(status) && r.stateMachines.includes(event.detail.stateMachineArn) && !lostEvents.includes(r.fn),
    );
    const answers = await Promise.all(
      targets.map(async ({ fn }) => {
        try {
          return [fn, { output: await this.functions[fn].invoke(event) }];
        } catch (e) {
          return [fn, { error: { name: e.name, message: e.message } }];
        }
      }),
    );
    return Object.fromEntries(answers);
  }

  async stop() {
    await Promise.all(Object.values(this.functions).map((f) => f.stop()));
    await this.emulator?.stop();
    await this.s3?.stop();
    await this.dynamodb?.stop();
    if (this.counted) alive -= 1;
    this.counted = false;
  }
}

function diffCalls(before, after) {
  const operations = {};
  for (const [op, c] of Object.entries(after.operations ?? {})) {
    const b = before.operations?.[op] ?? {};
    const d = {};
    for (const [k, v] of Object.entries(c)) d[k] = v - (b[k] ?? 0);
    if (d.calls > 0) operations[op] = d;
  }
  return {
    total: (after.total ?? 0) - (before.total ?? 0),
    throttled: (after.throttled ?? 0) - (before.throttled ?? 0),
    operations,
  };
}

/**
 * What the execution would cost on Step Functions: state transitions (states entered, retries
 * included) and history events, counted the way Standard workflows write them:
 * ExecutionStarted; per state entered XStateEntered and (unless a Fail state) XStateExited; per
 * Lambda attempt LambdaFunctionScheduled, LambdaFunctionStarted, LambdaFunctionSucceeded/Failed;
 * ExecutionSucceeded/Failed. A Wait → Task → Choice poll is 2 + 5 + 2 = 9 events.
 */
export function metrics(report, def) {
  const entered = report.events.filter((e) => e.type === 'StateEntered');
  const retries = report.events.filter((e) => e.type === 'StateRetried').length;
  const failStates = entered.filter((e) => def.States[e.state.name]?.Type === 'Fail').length;
  const lambda = {};
  for (const i of report.invocations) lambda[i.fn] = (lambda[i.fn] ?? 0) + 1;
  const lambdaTotal = report.invocations.length;
  const historyEvents = 1 + entered.length * 2 - failStates + lambdaTotal * 3 + 1;
  const byState = {};
  for (const e of entered) byState[e.state.name] = (byState[e.state.name] ?? 0) + 1;
  const polls = report.invocations.filter((i) => i.fn === 'check-status').length;
  return {
    stateTransitions: entered.length + retries,
    statesEntered: entered.length,
    retries,
    historyEvents,
    lambdaInvocations: { ...lambda, total: lambdaTotal },
    polls,
    emrCallsTotal: report.emrCalls.total,
    byState,
  };
}

export { FunctionError } from './lambda-runtime.mjs';
