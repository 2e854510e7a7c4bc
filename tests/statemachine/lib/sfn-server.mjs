// A local Step Functions endpoint: the AWS JSON 1.0 protocol (X-Amz-Target: AWSStepFunctions.<Operation>) in
// front of the harness, so clients built on the real SDK (the dataflow-runner CLI over aws-sdk-sfn) run against the
// real definitions, the real function binaries and the EMR emulator. Operations: ListStateMachines, StartExecution,
// DescribeExecution, GetExecutionHistory, StopExecution, ListExecutions, and the callback operations SendTaskSuccess,
// SendTaskFailure and SendTaskHeartbeat (the environment's task tokens, lib/callbacks.mjs, with their IAM checks).
// Executions run one at a time, in the order they were started (the harness keeps one virtual clock).

import { randomUUID } from 'node:crypto';
import { StatesApiError as ApiError, StatesApiServer } from './callbacks.mjs';
import { DEPLOYED_MACHINES } from './definitions.mjs';
import { callerOf } from './iam-guard.mjs';
import { ACCOUNT, REGION, STACK, executionArn } from './stack.mjs';

const machineArn = (machine) => `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:${STACK}-${machine}`;
const NAME = /^[A-Za-z0-9_-]{1,80}$/;

/** One harness event as the history event Step Functions would write, or null for those it does not keep. */
function historyEvent(ev) {
  const json = (v) => JSON.stringify(v ?? null);
  const stateKind = ev.state?.type;
  switch (ev.type) {
    case 'ExecutionStarted':
      return { type: 'ExecutionStarted', executionStartedEventDetails: { input: json(ev.input), roleArn: `arn:aws:iam::${ACCOUNT}:role/${STACK}` } };
    case 'StateEntered':
      return { type: `${stateKind}StateEntered`, stateEnteredEventDetails: { name: ev.state.name, input: json(ev.state.input) } };
    case 'StateExited':
      return { type: `${stateKind}StateExited`, stateExitedEventDetails: { name: ev.state.name, output: json(ev.state.output) } };
    case 'LambdaSucceeded':
      return { type: 'LambdaFunctionSucceeded', lambdaFunctionSucceededEventDetails: { output: json(ev.output) } };
    case 'LambdaFailed':
      return { type: 'LambdaFunctionFailed', lambdaFunctionFailedEventDetails: { error: ev.error.name, cause: ev.error.message } };
    // A Task on the Lambda integration (lambda:invoke, lambda:invoke.waitForTaskToken).
    case 'TaskScheduled': {
      const d = { resourceType: ev.resourceType, resource: ev.resource, region: REGION, parameters: json(ev.parameters) };
      if (ev.timeoutInSeconds !== undefined) d.timeoutInSeconds = ev.timeoutInSeconds;
      if (ev.heartbeatInSeconds !== undefined) d.heartbeatInSeconds = ev.heartbeatInSeconds;
      return { type: 'TaskScheduled', taskScheduledEventDetails: d };
    }
    case 'TaskStarted':
      return { type: 'TaskStarted', taskStartedEventDetails: { resourceType: ev.resourceType, resource: ev.resource } };
    case 'TaskSubmitted':
      return { type: 'TaskSubmitted', taskSubmittedEventDetails: { resourceType: ev.resourceType, resource: ev.resource, output: json(ev.output) } };
    case 'TaskSucceeded':
      return { type: 'TaskSucceeded', taskSucceededEventDetails: { resourceType: ev.resourceType, resource: ev.resource, output: json(ev.output) } };
    case 'TaskFailed':
    case 'TaskStartFailed':
    case 'TaskTimedOut': {
      const key = { TaskFailed: 'taskFailedEventDetails', TaskStartFailed: 'taskStartFailedEventDetails', TaskTimedOut: 'taskTimedOutEventDetails' }[ev.type];
      return { type: ev.type, [key]: { resourceType: ev.resourceType, resource: ev.resource, error: ev.error, cause: ev.cause } };
    }
    default:
      return null;
  }
}

export class StepFunctionsServer {
  /**
   * @param env the harness Environment
   * @param {{stepLogs?: boolean, definitions?: Record<string, object>}} options stepLogs: after each execution, let
   *   EMR's log upload delay pass (virtual time) and put the step logs into the environment's S3, as EMR would;
   *   definitions: a definition to run instead of a state machine's file, by machine (a test's own);
   *   listPageSize: the most executions one ListExecutions answer holds, fewer than asked for (AWS may answer so)
   */
  constructor(env, { stepLogs = false, definitions = {}, listPageSize = 1000 } = {}) {
    this.env = env;
    this.stepLogs = stepLogs;
    this.definitions = definitions;
    this.listPageSize = listPageSize;
    // The dates this endpoint gives executions and their events: the machine's clock (not the harness's virtual
    // one), in epoch seconds with milliseconds. A test may move it (executions of days ago).
    this.now = () => Date.now() / 1000;
    this.executions = new Map();
    this.queue = Promise.resolve();
    this.calls = [];
    // Who signed each call: the access key id of its SigV4 credential scope, in the order of `calls`.
    this.callers = [];
  }

  async start() {
    this.api = await new StatesApiServer({ tokens: this.env.tokens, fallback: (op, body) => this.handle(op, body), onCall: (op, headers) => {
        this.calls.push(op);
        this.callers.push(callerOf(headers).accessKeyId);
      } }).start();
    this.url = this.api.url;
    return this;
  }

  /** Resolves when every execution started so far has ended. */
  idle() {
    return this.queue;
  }

  handle(op, body) {
    switch (op) {
      case 'ListStateMachines':
        return { stateMachines: DEPLOYED_MACHINES.map((m) => ({ stateMachineArn: machineArn(m), name: `${STACK}-${m}`, type: 'STANDARD', creationDate: 1700000000 })) };
      case 'StartExecution':
        return this.startExecution(body);
      case 'DescribeExecution': {
        const e = this.execution(body.executionArn);
        const d = { executionArn: e.arn, stateMachineArn: machineArn(e.machine), name: e.name, status: e.status, startDate: e.startDate, input: JSON.stringify(e.input) };
        if (e.stopDate) d.stopDate = e.stopDate;
        if (e.output !== undefined) d.output = JSON.stringify(e.output);
        if (e.error) Object.assign(d, { error: e.error, cause: e.cause ?? '' });
        return d;
      }
      case 'GetExecutionHistory': {
        const e = this.execution(body.executionArn);
        const all = body.reverseOrder ? [...e.history].reverse() : e.history;
        const from = Number(body.nextToken ?? 0);
        const size = Math.min(body.maxResults || 100, 1000);
        const events = all.slice(from, from + size);
        return from + size < all.length ? { events, nextToken: String(from + size) } : { events };
      }
      case 'StopExecution': {
        const e = this.execution(body.executionArn);
        if (e.status === 'RUNNING') {
          e.stopRequested = true;
          e.control.stop?.();
        }
        return { stopDate: this.now() };
      }
      case 'ListExecutions': {
        // Newest first, in pages (maxResults: 100 by default, at most 1000); nextToken is where the next page starts.
        const all = [...this.executions.values()]
          .filter((e) => machineArn(e.machine) === body.stateMachineArn)
          .sort((a, b) => b.startDate - a.startDate);
        const from = Number(body.nextToken ?? 0);
        const size = Math.min(body.maxResults || 100, 1000, this.listPageSize);
        const executions = all
          .slice(from, from + size)
          .map((e) => ({ executionArn: e.arn, stateMachineArn: machineArn(e.machine), name: e.name, status: e.status, startDate: e.startDate, ...(e.stopDate && { stopDate: e.stopDate }) }));
        return from + size < all.length ? { executions, nextToken: String(from + size) } : { executions };
      }
      default:
        throw new ApiError('UnknownOperationException', `unknown operation ${op}`);
    }
  }

  execution(arn) {
    const e = this.executions.get(arn);
    if (!e) throw new ApiError('ExecutionDoesNotExist', `Execution Does Not Exist: '${arn}'`);
    return e;
  }

  startExecution({ stateMachineArn, name = randomUUID(), input = '{}' }) {
    const machine = DEPLOYED_MACHINES.find((m) => machineArn(m) === stateMachineArn);
    if (!machine) throw new ApiError('StateMachineDoesNotExist', `State Machine Does Not Exist: '${stateMachineArn}'`);
    if (!NAME.test(name)) throw new ApiError('InvalidName', `Invalid Name: '${name}'`);
    if (Buffer.byteLength(input, 'utf8') > 256 * 1024) throw new ApiError('ValidationException', 'Value at input failed to satisfy constraint: Member must have length less than or equal to 262144');
    let parsed;
    try {
      parsed = JSON.parse(input);
    } catch (e) {
      throw new ApiError('InvalidExecutionInput', `Invalid State Machine Execution Input: ${e.message}`);
    }
    const arn = executionArn(machine, name);
    const existing = this.executions.get(arn);
    if (existing) {
      // Step Functions: the same name and input while it runs is the same execution; anything else is refused.
      if (existing.status === 'RUNNING' && JSON.stringify(existing.input) === JSON.stringify(parsed)) return { executionArn: arn, startDate: existing.startDate };
      throw new ApiError('ExecutionAlreadyExists', `Execution Already Exists: '${arn}'`);
    }
    const e = { arn, machine, name, input: parsed, status: 'RUNNING', startDate: this.now(), history: [], control: {} };
    this.executions.set(arn, e);
    this.queue = this.queue.then(() => this.run(e));
    return { executionArn: arn, startDate: e.startDate };
  }

  async run(e) {
    const record = (ev) => {
      const h = historyEvent(ev);
      if (h) e.history.push({ id: e.history.length + 1, timestamp: this.now(), ...h });
    };
    if (e.stopRequested) {
      Object.assign(e, { status: 'ABORTED', stopDate: this.now() });
      return;
    }
    try {
      const report = await this.env.run(e.machine, e.input, { name: e.name, onEvent: record, control: e.control, definition: this.definitions[e.machine] });
      e.report = report;
      const end = { SUCCEEDED: 'ExecutionSucceeded', FAILED: 'ExecutionFailed', ABORTED: 'ExecutionAborted', TIMED_OUT: 'ExecutionTimedOut' }[report.status];
      const details =
        report.status === 'SUCCEEDED'
          ? { executionSucceededEventDetails: { output: JSON.stringify(report.output) } }
          : report.status === 'FAILED'
            ? { executionFailedEventDetails: { error: report.error, cause: report.cause ?? '' } }
            : {};
      record({ type: '__end' });
      e.history.push({ id: e.history.length + 1, timestamp: this.now(), type: end, ...details });
      Object.assign(e, { status: report.status, stopDate: this.now(), output: report.output, error: report.error, cause: report.cause });
      if (this.stepLogs) {
        await this.env.advance(600);
        await this.env.uploadStepLogs();
      }
    } catch (err) {
      Object.assign(e, { status: 'FAILED', stopDate: this.now(), error: 'States.Runtime', cause: String(err?.stack ?? err) });
    }
  }

  async stop() {
    await this.api?.stop();
  }
}
