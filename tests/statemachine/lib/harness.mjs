// Runs the real state machine definitions in aws-local-stepfunctions, each Task invoking the real
// Lambda binary (through lambda-runtime.mjs), which talks to the EMR emulator, to moto's DynamoDB (the stack's lock
// table) and, when asked, to moto's S3. When an execution ends, the stack's EventBridge rules (read from
// infra/template.yaml) send its status-change event to their functions, as on AWS.
//
// Virtual time. The emulator's clock is frozen; when the execution enters a Wait state the harness
// notes the seconds the definition asks for (Seconds or SecondsPath, evaluated on the state's
// input), lets the Wait finish at once, and advances the emulator by exactly that much before the
// next Task runs. So the states, polls and EMR calls are those of the real definition, and a
// 14-day job takes seconds. A Retry's pause is cut to 1 ms of real time and advances the emulator by the pause the
// retrier asks for (IntervalSeconds × BackoffRate^(attempt - 1), at most MaxDelaySeconds; with FULL jitter, Step
// Functions waits a random part of that, simulated as its mean, half): what AWS answers after a retried call is what
// it answers that much later (an EMR Serverless application still being created or stopped is ready by then).
//
// The Lambdas read the emulator's clock: every function process runs under libfaketime, its wall clock set to
// virtual time whenever virtual time moves (lib/clock.mjs). So a run's cost is priced to the virtual now, a budget
// and a lock's lease are measured in it, as on AWS. The interpreter's own context ($$.Execution.StartTime) is the
// machine's: check-status's `since` is handed over translated into virtual time (the moment the execution started,
// plus the machine time between its start and `since`), so now - `since` is the virtual time elapsed.
//
// Callbacks. A Task on `arn:aws:states:::lambda:invoke.waitForTaskToken` gets a fresh task token per attempt
// ($$.Task.Token, see scripts/patch-interpreter.mjs), registered (lib/callbacks.mjs) before its function is
// invoked with Parameters.Payload. A failed invocation fails the Task with the function's error; otherwise its
// answer is ignored and the Task waits for SendTaskSuccess / SendTaskFailure on the token (the functions reach the
// harness's Step Functions endpoint through AWS_ENDPOINT_URL_SFN), for its TimeoutSeconds(Path) (States.Timeout)
// or for its HeartbeatSeconds(Path) without SendTaskHeartbeat (States.HeartbeatTimeout). While it waits, virtual
// time runs: the harness moves the emulator's clock to the next of: the emulator's next change (GET next-change),
// the task's deadlines, the execution's TimeoutSeconds (a year without one, Step Functions' longest execution) and
// the test's scheduled actions, delivers the EMR events due (below) and stops as soon as the token is answered;
// an answer that comes in the very second of a deadline still counts. The seconds waited count like a Wait
// state's. `arn:aws:states:::lambda:invoke` (request-response) runs like a Lambda ARN, its result wrapped as
// Step Functions does ({ExecutedVersion, Payload, SdkHttpMetadata, SdkResponseMetadata, StatusCode}).
//
// EMR events. After every move of the clock (Wait states, callback waits, advance()) the harness takes the EMR
// (and EMR Serverless) events the emulator says are deliverable and hands them to the targets of the template's
// aws.emr and aws.emr-serverless rules
// (lib/event-bus.mjs), as EventBridge and Lambda's asynchronous invocation do. Each delivery is in the run's
// report.eventDeliveries and its invocations in report.metrics.lambdaInvocations.
//
// The reconciler's schedule. With the option `reconciler: true`, the stack's ReconcileRule (its rate, from the
// template) starts the reconciler every period of virtual time, counted from the environment's start, wherever
// virtual time passes (Wait states, callback waits, advance()): the clock stops at each tick, as at an emulator
// change. Each sweep is in env.sweeps (and the running execution's report.sweeps). Without the option the schedule
// does not run by itself (a stack deployed with ReconcileMinutes 0, or a window between ticks); env.sweep() runs one
// sweep at once either way. The reconciler asks this environment's Step Functions endpoint (DescribeExecution, under
// the stack's IAM) about the executions env.run() started: RUNNING while they run, then their end.

import './polyfill.mjs';
import { ExecutionAbortedError, ExecutionError, ExecutionTimeoutError, StateMachine, StatesTimeoutError } from 'aws-local-stepfunctions';
import { randomUUID } from 'node:crypto';
import { Emulator } from './emulator.mjs';
import { FunctionClock } from './clock.mjs';
import { allStates, FUNCTIONS, RULE_FUNCTIONS, functionOfArn, integrationOf, loadDefinition } from './definitions.mjs';
import { StatesApiError, StatesApiServer, TaskTokens } from './callbacks.mjs';
import { callerOf } from './iam-guard.mjs';
import { declares, EventBus, resourcesOfType } from './event-bus.mjs';
import { createTable, dynamodb, DynamoDbGuard } from './dynamodb.mjs';
import { LambdaPool } from './lambda-runtime.mjs';
import { Moto } from './moto.mjs';
import { S3Guard } from './s3-guard.mjs';
import { gzipSync } from 'node:zlib';
import { binary } from './paths.mjs';
import {
  ACCOUNT,
  accessKeyOf,
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
/** Step Functions' longest Standard execution: how long a callback with no deadline of its own may wait. */
const MAX_EXECUTION_SECONDS = 365 * 86400;
/** How many times Lambda retries a failed asynchronous invocation unless the function's EventInvokeConfig says. */
const ASYNC_RETRIES = 2;
/** Environments alive in this process: they share its moto, which each one empties when it starts. */
let alive = 0;

/** The virtual seconds a retrier pauses before `attempt` (1: the first retry): its interval backed off, capped, and halved under FULL jitter (the mean of a uniform draw). */
export function retryPause({ retrier, attempt }) {
  const interval = (retrier.IntervalSeconds ?? 1) * (retrier.BackoffRate ?? 2) ** (attempt - 1);
  const capped = Math.min(interval, retrier.MaxDelaySeconds ?? Infinity);
  return retrier.JitterStrategy === 'FULL' ? capped / 2 : capped;
}

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

/** The error of a state Step Functions cannot run (States.Runtime): neither retried nor caught. */
function runtimeError(message) {
  const e = new Error(message);
  e.name = 'States.Runtime';
  Object.defineProperties(e, { isRetryable: { value: false }, isCatchable: { value: false } });
  return e;
}

/** A Task's TimeoutSeconds or HeartbeatSeconds (`field`), or its …Path evaluated on the state's input; undefined if neither. */
function taskSeconds(name, state, field, input) {
  if (state[field] !== undefined) return state[field];
  const path = state[`${field}Path`];
  if (path === undefined) return undefined;
  const seconds = valueAt(path, input);
  if (!Number.isInteger(seconds) || seconds < 1) {
    throw runtimeError(`Task "${name}": ${field}Path ${path} is ${JSON.stringify(seconds)}, not a positive integer`);
  }
  return seconds;
}

/** What Step Functions' lambda:invoke integration makes of a function's answer. */
function invokeResult(payload) {
  const requestId = randomUUID();
  return {
    ExecutedVersion: '$LATEST',
    Payload: payload,
    SdkHttpMetadata: { HttpHeaders: { 'Content-Type': 'application/json', 'X-Amz-Executed-Version': '$LATEST', 'x-amzn-RequestId': requestId }, HttpStatusCode: 200 },
    SdkResponseMetadata: { RequestId: requestId },
    StatusCode: 200,
  };
}

/** What the stack's ReconcileRule sends the reconciler at `epochSeconds`: EventBridge's `Scheduled Event`. */
export function scheduledEvent(epochSeconds) {
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': 'Scheduled Event',
    source: 'aws.events',
    account: ACCOUNT,
    time: new Date(epochSeconds * 1000).toISOString(),
    region: REGION,
    resources: [`arn:aws:events:${REGION}:${ACCOUNT}:rule/dataflow-runner-ReconcileRule`],
    detail: {},
  };
}

export class Environment {
  /**
   * @param {{scenario?: object, faults?: object, s3?: boolean, log?: (line: string) => void,
   *          template?: string, parameters?: Record<string,string>, functionEnv?: Record<string,string>,
   *          functionBinaries?: Record<string,string>, optionalFunctions?: string[]}} options
   *   s3: give the functions moto's S3 (otherwise S3 is a closed port); DynamoDB (the lock table) is always there;
   *   template: the SAM template whose roles' policies authorize every EMR, S3 and DynamoDB call (default
   *   infra/template.yaml), whose lock table is created and whose rules route the ends of executions;
   *   parameters: its parameter values (ConfigBucket is the test bucket unless given);
   *   functionEnv: more environment for every function (e.g. AWS_MAX_ATTEMPTS);
   *   functionBinaries: {function name: executable} run instead of the function's built binary (a stand-in speaking
   *   the Lambda Runtime API, e.g. a test's script);
   *   reconciler: run the stack's reconciler schedule in virtual time (see the top of this file);
   *   taskTokenLength: make every task token this long (Step Functions' tokens reach 2,048 characters);
   *   optionalFunctions: functions started by rules (definitions.mjs RULE_FUNCTIONS) that the environment may go
   *   without when the template declares them but their binary is not built: each one is listed in
   *   env.missingFunctions and logged, and every event for it is recorded as dropped (`notRunning`). Without it, a
   *   missing binary fails start().
   *   virtualClock: run the functions on virtual time (lib/clock.mjs; default true). The benchmarks turn it off: they
   *   measure the binaries as deployed, without a preloaded library reading a file at every clock read.
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

  constructor({ scenario, faults, s3 = false, log, template, parameters, functionEnv: extraEnv, functionBinaries = {}, optionalFunctions = [], reconciler = false, taskTokenLength = 0, virtualClock = true } = {}) {
    this.options = { scenario, faults, s3, template, parameters, extraEnv, functionBinaries, optionalFunctions, reconciler, taskTokenLength, virtualClock };
    this.log = log ?? (process.env.DFR_HARNESS_LOG ? (line) => process.stderr.write(`${line}\n`) : undefined);
    this.functions = {};
    this.pendingAdvance = 0;
    /** Rule functions the template declares whose binary is not built (see optionalFunctions). */
    this.missingFunctions = [];
    /** Every EMR event delivery since the environment started (runs and advance()). */
    this.eventDeliveries = [];
    /** Every sweep of the reconciler: {at (virtual), output | error}. */
    this.sweeps = [];
    /** Executions env.run() started, by ARN: what DescribeExecution answers. */
    this.executions = new Map();
  }

  /** Virtual now, epoch seconds: the emulator's clock, and the functions' (lib/clock.mjs). */
  get virtualNow() {
    return this.virtualEpoch;
  }

  set virtualNow(epochSeconds) {
    this.virtualEpoch = epochSeconds;
    this.clock?.set(epochSeconds);
  }

  async boot() {
    if (alive > 0) throw new Error('one Environment at a time per process: they share moto, which each one empties');
    alive += 1;
    this.counted = true;
    const iam = stackIam({ template: this.options.template, parameters: this.options.parameters });
    this.iam = iam;
    this.emulator = await new Emulator({ log: this.log }).start();
    await this.emulator.setIam(iam);
    if (this.options.virtualClock) this.clock = new FunctionClock();
    this.virtualNow = this.emulator.startedAt;
    if (this.options.scenario) await this.emulator.setScenario(this.options.scenario);
    if (this.options.faults) await this.emulator.setFaults(this.options.faults);
    this.moto = await Moto.shared();
    await this.moto.reset();
    if (this.options.s3) this.s3 = await new S3Guard({ target: this.moto.url, emulator: this.emulator }).start();
    this.dynamodb = await new DynamoDbGuard({ target: this.moto.url, emulator: this.emulator }).start();
    // Every table of the template (the lock table, and any other a function keeps state in).
    this.tables = {};
    for (const id of resourcesOfType(iam.template, 'AWS::DynamoDB::Table')) {
      this.tables[id] = await createTable(this.moto.url, await this.emulator.resource(iam, id));
    }
    this.lockTable = this.tables.LockTable;
    this.tokens = new TaskTokens({
      authorize: (caller, action, resource) => this.emulator.admin('POST', 'iam/authorize', { ...caller, action, resource }),
      now: () => this.virtualNow,
      tokenLength: this.options.taskTokenLength,
    });
    this.statesApi = await new StatesApiServer({ tokens: this.tokens, fallback: (op, body, headers) => this.describeExecution(op, body, headers) }).start();
    this.ruleFunctions = Object.entries(RULE_FUNCTIONS)
      .filter(([, id]) => declares(iam.template, id))
      .map(([fn]) => fn);
    for (const fn of [...FUNCTIONS, ...this.ruleFunctions]) {
      let path = this.options.functionBinaries[fn];
      if (!path) {
        try {
          path = binary(fn);
        } catch (e) {
          if (!this.ruleFunctions.includes(fn) || !this.options.optionalFunctions.includes(fn)) throw e;
          this.missingFunctions.push(fn);
          this.log?.(`harness: ${fn} is not built; running without it (optionalFunctions), its events are dropped`);
          continue;
        }
      }
      const f = new LambdaPool(fn, path, await this.functionEnvironment(fn), { log: this.log });
      await f.start();
      this.functions[fn] = f;
    }
    this.rules = await this.loadRules();
    this.sweepSeconds = await this.reconcilePeriod();
    this.nextSweepAt = this.options.reconciler && this.sweepSeconds ? this.virtualNow + this.sweepSeconds : Infinity;
    this.bus = new EventBus({
      rules: await this.loadEventRules(),
      invoke: (fn, event) => this.functions[fn].invoke(event),
      now: () => this.virtualNow,
      region: REGION,
      onDelivery: (delivery) => {
        this.eventDeliveries.push(delivery);
        this.activeReport?.eventDeliveries.push(delivery);
      },
    });
  }

  /**
   * The environment `fn` runs with here: the local endpoints, the function's own variables from the template (e.g.
   * DFR_LOCK_TABLE: the table's name), the Globals and Lambda's, and the options' functionEnv.
   */
  async functionEnvironment(fn) {
    const endpoints = {
      AWS_ENDPOINT_URL_EMR: this.emulator.url,
      // EMR Serverless, which the emulator serves on the same port.
      AWS_ENDPOINT_URL_EMR_SERVERLESS: this.emulator.url,
      // Without moto, S3 points at a closed port: an s3:// config then fails like an unreachable S3.
      AWS_ENDPOINT_URL_S3: this.s3?.url ?? 'http://127.0.0.1:9',
      AWS_ENDPOINT_URL_DYNAMODB: this.dynamodb.url,
      AWS_ENDPOINT_URL_SFN: this.statesApi.url,
      // The tagging API's GetResources, which the emulator serves beside EMR.
      AWS_ENDPOINT_URL_RESOURCE_GROUPS_TAGGING_API: this.emulator.url,
      AWS_ENDPOINT_URL_PRICING: this.emulator.url,
      AWS_ENDPOINT_URL_EC2: this.emulator.url,
    };
    const own = (await this.emulator.resource(this.iam, { ...FUNCTION_LOGICAL_IDS, ...RULE_FUNCTIONS }[fn])).Properties?.Environment?.Variables ?? {};
    const env = {
      ...this.clock?.environment(),
      ...endpoints,
      ...Object.fromEntries(Object.entries(own).filter(([, v]) => typeof v === 'string')),
      ...functionEnv(fn, this.iam.parameters),
      ...this.options.extraEnv,
    };
    if (fn === 'lock' || fn === 'reconciler') env.DFR_LOCK_TABLE = this.lockTable;
    return env;
  }

  /** The function a deployed function ARN names (the template's functions, by logical id). */
  async functionArns() {
    if (!this.arns) {
      this.arns = {};
      for (const [fn, id] of Object.entries({ ...FUNCTION_LOGICAL_IDS, ...Object.fromEntries(this.ruleFunctions.map((f) => [f, RULE_FUNCTIONS[f]])) })) {
        this.arns[(await this.emulator.resource(this.iam, id)).Attributes.Arn] = fn;
      }
    }
    return this.arns;
  }

  /**
   * The template's rules on EMR's and EMR Serverless's events (source aws.emr or aws.emr-serverless, State not
   * DISABLED): one entry per Lambda target, with the pattern and how many times Lambda retries the function's
   * failed asynchronous invocations. A target that is not one of the stack's functions is an error.
   */
  async loadEventRules() {
    const arns = await this.functionArns();
    const logicalIds = { ...FUNCTION_LOGICAL_IDS, ...RULE_FUNCTIONS };
    const rules = [];
    for (const id of resourcesOfType(this.iam.template, 'AWS::Events::Rule')) {
      const rule = (await this.emulator.resource(this.iam, id)).Properties;
      const pattern = typeof rule.EventPattern === 'string' ? JSON.parse(rule.EventPattern) : rule.EventPattern;
      if (!pattern?.source?.some((s) => s === 'aws.emr' || s === 'aws.emr-serverless') || rule.State === 'DISABLED') continue;
      for (const target of rule.Targets ?? []) {
        const fn = arns[target.Arn];
        if (!fn) throw new Error(`rule ${id}: target ${target.Id} (${JSON.stringify(target.Arn)}) is not one of the stack's functions`);
        const config = (await this.emulator.resource(this.iam, logicalIds[fn])).Properties?.EventInvokeConfig;
        rules.push({ rule: id, pattern, fn, maxRetries: config?.MaximumRetryAttempts ?? ASYNC_RETRIES, notRunning: !this.functions[fn] });
      }
    }
    return rules;
  }

  /** The function whose access key this is, or the key itself (an operator, a test). */
  callerName(accessKeyId) {
    return Object.keys(this.functions).find((fn) => accessKeyOf(fn) === accessKeyId) ?? accessKeyId;
  }

  /** The period of the template's ReconcileRule in seconds (`rate(N minute[s])`), or undefined without it. */
  async reconcilePeriod() {
    if (!this.functions.reconciler || !declares(this.iam.template, 'ReconcileRule')) return undefined;
    const rule = (await this.emulator.resource(this.iam, 'ReconcileRule'))?.Properties;
    const m = /^rate\((\d+) minutes?\)$/.exec(rule?.ScheduleExpression ?? '');
    return m ? Number(m[1]) * 60 : undefined;
  }

  /** One sweep of the reconciler now, as its schedule starts it. Resolves with {at, output} or {at, error}. */
  async sweep() {
    const sweep = { at: this.virtualNow };
    try {
      sweep.output = await this.functions.reconciler.invoke(scheduledEvent(this.virtualNow));
    } catch (e) {
      sweep.error = { name: e.name, message: e.message };
    }
    this.sweeps.push(sweep);
    this.activeReport?.sweeps.push(sweep);
    return sweep;
  }

  /** The sweeps whose tick has come (the clock is at or past it), in order. */
  async sweepsDue() {
    while (this.virtualNow >= this.nextSweepAt) {
      this.nextSweepAt += this.sweepSeconds;
      await this.sweep();
    }
  }

  /**
   * DescribeExecution on the environment's Step Functions endpoint, for the executions env.run() started, under the
   * stack's IAM (states:DescribeExecution on the execution's ARN). Other operations: UnknownOperationException.
   */
  async describeExecution(op, body, headers) {
    if (op !== 'DescribeExecution') throw new StatesApiError('UnknownOperationException', `unknown operation ${op}`);
    const arn = body?.executionArn;
    if (typeof arn !== 'string') throw new StatesApiError('ValidationException', "1 validation error detected: Value null at 'executionArn' failed to satisfy constraint: Member must not be null");
    const verdict = await this.emulator.admin('POST', 'iam/authorize', { ...callerOf(headers), action: 'states:DescribeExecution', resource: arn });
    if (!verdict.allowed) {
      throw new StatesApiError(verdict.error === 'UnrecognizedClientException' ? 'UnrecognizedClientException' : 'AccessDeniedException', verdict.message ?? 'Access denied');
    }
    const e = this.executions.get(arn);
    if (!e) throw new StatesApiError('ExecutionDoesNotExist', `Execution Does Not Exist: '${arn}'`);
    return {
      executionArn: arn,
      stateMachineArn: e.stateMachineArn,
      name: e.name,
      status: e.status,
      startDate: e.startDate,
      ...(e.stopDate ? { stopDate: e.stopDate } : {}),
      ...(e.error != null ? { error: e.error } : {}),
      ...(e.cause != null ? { cause: e.cause } : {}),
      input: '{}',
    };
  }

  /** Takes the EMR events the emulator says are deliverable and delivers them. Returns the deliveries made. */
  async deliverEvents() {
    const items = await this.emulator.takeEvents();
    return items.length === 0 ? [] : this.bus.deliver(items);
  }

  /**
   * Moves the emulator's clock `seconds` forward, stopping at each change the emulator announces on the way to
   * deliver the EMR events due then (so a function an event starts sees the clock of its event).
   */
  async moveClock(seconds) {
    const target = this.virtualNow + seconds;
    let stalledAt;
    for (;;) {
      const { at } = await this.emulator.nextChange();
      const change = at != null && at < target && at !== stalledAt ? Math.max(at, this.virtualNow) : target;
      const stop = Math.min(change, Math.max(this.nextSweepAt, this.virtualNow));
      if (stop > this.virtualNow) {
        await this.emulator.advance(stop - this.virtualNow);
        this.virtualNow = stop;
      }
      const delivered = await this.deliverEvents();
      await this.sweepsDue();
      if (stop >= target) return;
      // A change announced for now that brought nothing: do not stop for it again.
      stalledAt = delivered.length === 0 && at <= this.virtualNow ? at : undefined;
    }
  }

  /** The stack's rules on the ends of executions: which statuses of which state machines go to which function. */
  async loadRules() {
    const arns = await this.functionArns();
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

  /** Calls the wait table's DynamoDB API as `accessKeyId` (through IAM). */
  waits(operation, body, accessKeyId) {
    return dynamodb(this.dynamodb.url, operation, { TableName: this.tables.WaitTable, ...body }, accessKeyId);
  }

  /** Advance the emulator by the Wait time the execution has gone through since the last call (delivering EMR events). */
  async syncClock() {
    if (this.pendingAdvance > 0) {
      const seconds = this.pendingAdvance;
      this.pendingAdvance = 0;
      await this.moveClock(seconds);
    }
  }

  /** Let virtual time pass outside any execution (e.g. a cluster terminating after the run), delivering EMR events. */
  async advance(seconds) {
    await this.syncClock();
    await this.moveClock(seconds);
  }

  /**
   * Calls the environment's Step Functions endpoint (what the functions' AWS_ENDPOINT_URL_SFN names) as
   * `accessKeyId`: SendTaskSuccess, SendTaskFailure or SendTaskHeartbeat. An error answer rejects with its type as
   * the error's name.
   */
  sfn(operation, body, accessKeyId) {
    const api = { target: `AWSStepFunctions.${operation}`, contentType: 'application/x-amz-json-1.0', service: 'states' };
    return callJson(`${this.statesApi.url}/`, { ...api, accessKeyId }, body);
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
   * Calls EMR Serverless's REST API as someone else in the account (full access): for applications this stack did
   * not create. Answers the JSON body.
   */
  async serverlessAsOperator(method, path, body, region = REGION) {
    const res = await fetch(`${this.emulator.url}${path}`, {
      method,
      headers: {
        'content-type': 'application/json',
        authorization: `AWS4-HMAC-SHA256 Credential=${OPERATOR_ACCESS_KEY}/20261202/${region}/emr-serverless/aws4_request, SignedHeaders=host, Signature=0`,
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const json = await res.json();
    if (!res.ok) throw new Error(`${method} ${path} as the operator: ${res.status} ${JSON.stringify(json)}`);
    return json;
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
   *   lostEvents: functions whose rule deliveries of this execution's end are lost (e.g. ['lock']);
   *   callbackActions({token, state, fn, env}): called when a callback Task starts waiting for its token; returns
   *   [{after, run}]: each `run()` is awaited once `after` virtual seconds of the wait have passed (0: at once),
   *   before the clock moves on (e.g. env.sfn('SendTaskHeartbeat', …) as an outside worker would).
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
      callbackActions,
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
    const stateByName = Object.fromEntries(allStates(def));
    const report = {
      machine,
      name: executionName,
      executionArn,
      input,
      events: [],
      invocations: [],
      callbackWaits: [],
      eventDeliveries: [],
      sweeps: [],
    };
    const described = { stateMachineArn: stateMachineArn(machine), name: executionName, status: 'RUNNING', startDate: Date.now() / 1000 };
    this.executions.set(executionArn, described);
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
    const ownTaskTimeouts = [];
    const stateInputs = {}; // the input of each Task state's current attempt (its TimeoutSecondsPath reads it)
    const executionDeadline = startVirtual + (def.TimeoutSeconds ?? MAX_EXECUTION_SECONDS);

    /** One invocation of `fn` for a Task: the options' faults and hooks apply; resolves with its answer. */
    const invoke = async (fn, stateName, taskInput, record) => {
      let event = taskInput;
      if (fn === 'check-status' && typeof taskInput?.since === 'string') {
        const sinceVirtual = startVirtual + (Date.parse(taskInput.since) / 1000 - startReal);
        event = { ...taskInput, since: new Date(sinceVirtual * 1000).toISOString() };
      }
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
      return record.output;
    };

    for (const [stateName, state] of allStates(def)) {
      if (state.Type === 'Wait') waitOverrides[stateName] = 0;
      if (state.Type !== 'Task') continue;
      retryOverrides[stateName] = 1;
      const integration = integrationOf(state.Resource);
      if (integration !== 'function') {
        const named = state.Parameters?.FunctionName;
        if (named === undefined && state.Parameters?.['FunctionName.$'] === undefined) {
          throw new Error(`${machine}: state "${stateName}" (${state.Resource}) has no Parameters.FunctionName`);
        }
        if (named !== undefined && !functionOfArn(named)) {
          throw new Error(`${machine}: state "${stateName}" invokes ${named}, which is not one of the stack's functions`);
        }
        ownTaskTimeouts.push(stateName);
        handlers[stateName] = (taskInput, context) =>
          this.integrationTask({ machine, report, def, stateName, state, integration, taskInput, context, stateInput: stateInputs[stateName] }, {
            invoke,
            elapsed,
            onEvent,
            executionDeadline,
            isEnded: () => Boolean(ended),
            stop,
            limitExceeded,
            callbackActions,
          });
        continue;
      }
      const fn = functionOfArn(state.Resource);
      if (!fn) throw new Error(`${machine}: state "${stateName}" invokes ${state.Resource}, which is not one of ${FUNCTIONS.join(', ')}`);
      handlers[stateName] = async (taskInput) => {
        // Let the event log catch up (it tells how long the preceding Wait was), then move virtual time.
        await new Promise((resolve) => setImmediate(resolve));
        await this.syncClock();
        const record = { fn, state: stateName, integration, at: elapsed(), virtualTime: this.virtualNow, input: taskInput };
        report.invocations.push(record);
        const callsBeforeInvocation = countCallsPerInvocation ? (await this.emulator.calls()).total : 0;
        try {
          const output = await invoke(fn, stateName, taskInput, record);
          if (ended?.status === 'ABORTED' && report.inFlightAtStop) return output;
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
    // $$.Task for each attempt of a Task state: a callback Task's gets a fresh token, registered now.
    const taskContext = (stateName, stateInput) => {
      stateInputs[stateName] = stateInput;
      if (integrationOf(stateByName[stateName]?.Resource) !== 'callback') return undefined;
      const task = this.tokens.issue({ executionArn, state: stateName });
      task.stateInput = stateInput;
      return { Token: task.token };
    };
    this.activeReport = report;
    execution = machineRunner.run(input, {
      overrides: {
        taskResourceLocalHandlers: handlers,
        waitTimeOverrides: waitOverrides,
        retryIntervalOverrides: retryOverrides,
        taskContext,
        ownTaskTimeouts,
      },
      context: { Execution: { Name: executionName, Id: executionArn, RoleArn: `arn:aws:iam::${ACCOUNT}:role/dataflow-runner` } },
    });
    const consumed = (async () => {
      for await (const ev of execution.eventLogs) {
        const entry = { ...ev, at: elapsed() };
        report.events.push(entry);
        onEvent?.(ev);
        if (ev.type === 'StateEntered' && bytes(ev.state.input) > PAYLOAD_LIMIT) limitExceeded(`the input of ${ev.state.name}`, bytes(ev.state.input));
        if (ev.type === 'StateExited' && bytes(ev.state.output) > PAYLOAD_LIMIT) limitExceeded(`the output of ${ev.state.name}`, bytes(ev.state.output));
        if (ev.type === 'StateRetried') {
          entry.retrySeconds = retryPause(ev.retry);
          this.pendingAdvance += entry.retrySeconds;
        }
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
    this.tokens.closeExecution(executionArn, `execution ${report.status}`);
    Object.assign(described, { status: report.status, stopDate: (ended?.stoppedAt ?? Date.now()) / 1000, error: report.error, cause: report.cause });
    await this.syncClock();
    this.activeReport = undefined;
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
   * One attempt of a Task on Step Functions' Lambda integration (`lambda:invoke`, `lambda:invoke.waitForTaskToken`):
   * invokes Parameters.FunctionName with Parameters.Payload and, for a callback, waits in virtual time for its
   * token. Emits the history events Step Functions writes (TaskScheduled, TaskStarted, TaskSubmitted, TaskSucceeded
   * | TaskFailed | TaskTimedOut) through onEvent and counts them on the invocation's record (record.historyEvents).
   */
  async integrationTask({ report, stateName, state, integration, taskInput, context, stateInput }, run) {
    const { invoke, elapsed, onEvent, limitExceeded } = run;
    await new Promise((resolve) => setImmediate(resolve));
    await this.syncClock();
    const fn = functionOfArn(taskInput?.FunctionName);
    const payload = taskInput?.Payload ?? {};
    const token = context?.Task?.Token;
    const record = { fn, state: stateName, integration, at: elapsed(), virtualTime: this.virtualNow, input: payload, historyEvents: 0 };
    if (token) record.token = token;
    report.invocations.push(record);
    const resource = { resourceType: 'lambda', resource: integration === 'callback' ? 'invoke.waitForTaskToken' : 'invoke' };
    const emit = (type, details = {}) => {
      record.historyEvents += 1;
      onEvent?.({ type, state: stateName, fn, ...resource, ...details });
    };
    // The Task's end as an error (the invocation's own error, if any, is record.error).
    const fail = (e, type = 'TaskFailed') => {
      emit(type, { error: e.name, cause: e.message });
      return e;
    };
    const timeoutSeconds = taskSeconds(stateName, state, 'TimeoutSeconds', stateInput);
    const heartbeatSeconds = integration === 'callback' ? taskSeconds(stateName, state, 'HeartbeatSeconds', stateInput) : undefined;
    emit('TaskScheduled', { parameters: taskInput, timeoutInSeconds: timeoutSeconds, heartbeatInSeconds: heartbeatSeconds });
    if (!fn) {
      const e = new Error(`Function not found: ${taskInput?.FunctionName}`);
      e.name = 'Lambda.ResourceNotFoundException';
      record.error = { name: e.name, message: e.message };
      throw fail(e, 'TaskStartFailed');
    }
    emit('TaskStarted');

    if (integration === 'invoke') {
      // Request-response: the invocation takes real time, and so does its timeout.
      let timer;
      const timeout = new Promise((_, reject) => {
        if (timeoutSeconds !== undefined) timer = setTimeout(() => reject(new StatesTimeoutError()), timeoutSeconds * 1000);
      });
      try {
        const output = await Promise.race([invoke(fn, stateName, payload, record), timeout]);
        const result = invokeResult(output);
        if (bytes(result) > PAYLOAD_LIMIT) limitExceeded(`the result of ${stateName}`, bytes(result));
        emit('TaskSucceeded', { output: result });
        return result;
      } catch (e) {
        record.error = { name: e.name, message: e.message };
        throw fail(e, e instanceof StatesTimeoutError ? 'TaskTimedOut' : 'TaskFailed');
      } finally {
        clearTimeout(timer);
      }
    }

    const task = this.tokens.get(token);
    if (!task) throw new Error(`harness: state "${stateName}" has no registered task token`);
    const wait = {
      token,
      state: stateName,
      fn,
      startedAt: this.virtualNow,
      timeoutSeconds,
      heartbeatSeconds,
    };
    report.callbackWaits.push(wait);
    const end = (outcome, extra = {}) => {
      this.tokens.close(token, outcome);
      Object.assign(wait, { outcome, endedAt: this.virtualNow, waitedSeconds: this.virtualNow - wait.startedAt, heartbeats: task.heartbeats, ...extra });
    };
    try {
      await invoke(fn, stateName, payload, record);
    } catch (e) {
      record.error = { name: e.name, message: e.message };
      // An answer given during the invocation already ended the task; the invocation's failure changes nothing.
      if (!task.answer) {
        end('invocation-failed', { error: record.error });
        throw fail(e);
      }
    }
    if (!record.error) emit('TaskSubmitted', { output: invokeResult(record.output) });
    const outcome = await this.awaitCallback(task, wait, run);
    if (outcome === 'answered' && task.answer.kind === 'success') {
      end('succeeded', { answeredBy: this.callerName(task.answer.accessKeyId), answeredAt: task.answer.at });
      const result = task.answer.output;
      if (bytes(result) > PAYLOAD_LIMIT) limitExceeded(`the result of ${stateName}`, bytes(result));
      emit('TaskSucceeded', { output: result });
      return result;
    }
    if (outcome === 'answered') {
      end('failed', { answeredBy: this.callerName(task.answer.accessKeyId), answeredAt: task.answer.at });
      const e = new Error(task.answer.cause ?? '');
      e.name = task.answer.error ?? '';
      throw fail(e);
    }
    if (outcome === 'timeout') {
      end('timed-out');
      throw fail(new StatesTimeoutError(), 'TaskTimedOut');
    }
    if (outcome === 'heartbeat') {
      end('heartbeat-timed-out');
      const e = new Error(`no heartbeat for ${heartbeatSeconds} s`);
      e.name = 'States.HeartbeatTimeout';
      throw fail(e, 'TaskTimedOut');
    }
    end('execution-ended');
    throw new Error('the execution ended while the task waited for its token');
  }

  /**
   * Runs virtual time until the callback `task` is answered ('answered'), its TimeoutSeconds or HeartbeatSeconds
   * pass ('timeout', 'heartbeat') or its execution ends ('ended': stopped, or past its TimeoutSeconds, which then
   * stops it TIMED_OUT). Each step goes to the earliest of the emulator's next change, the deadlines and the
   * test's scheduled actions (run option callbackActions), then delivers the EMR events due.
   */
  async awaitCallback(task, wait, { executionDeadline, isEnded, stop, callbackActions }) {
    const timeoutAt = wait.timeoutSeconds === undefined ? Infinity : wait.startedAt + wait.timeoutSeconds;
    const heartbeatAt = () => (wait.heartbeatSeconds === undefined ? Infinity : task.lastHeartbeat + wait.heartbeatSeconds);
    const actions = (callbackActions?.({ token: task.token, state: wait.state, fn: wait.fn, env: this }) ?? [])
      .map((a) => ({ at: wait.startedAt + a.after, run: a.run }))
      .sort((a, b) => a.at - b.at);
    let stalledAt;
    for (;;) {
      while (actions.length > 0 && actions[0].at <= this.virtualNow) await actions.shift().run();
      if (task.answer) return 'answered';
      if (isEnded()) return 'ended';
      const now = this.virtualNow;
      if (now >= timeoutAt) return 'timeout';
      if (now >= heartbeatAt()) return 'heartbeat';
      if (now >= executionDeadline) {
        stop('TIMED_OUT');
        return 'ended';
      }
      const { at } = await this.emulator.nextChange();
      const change = at == null || at === stalledAt ? Infinity : at;
      if (change <= now) {
        // Something is due now: deliver it; a change announced for now that brings nothing is not waited for again.
        const delivered = await this.deliverEvents();
        if (delivered.length === 0) stalledAt = at;
        continue;
      }
      const next = Math.min(change, timeoutAt, heartbeatAt(), executionDeadline, actions[0]?.at ?? Infinity, this.nextSweepAt);
      await this.emulator.advance(next - now);
      this.virtualNow = next;
      await this.deliverEvents();
      await this.sweepsDue();
    }
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
    await this.statesApi?.stop();
    this.clock?.close();
    if (this.counted) alive -= 1;
    this.counted = false;
  }
}

/** What the emulator serves beside EMR: the tagging API, the Price List and EC2's spot prices (not EMR calls). */
export const NOT_EMR = new Set(['GetResources', 'GetProducts', 'DescribeSpotPriceHistory']);

function diffCalls(before, after) {
  const operations = {};
  let other = 0;
  for (const [op, c] of Object.entries(after.operations ?? {})) {
    const b = before.operations?.[op] ?? {};
    const d = {};
    for (const [k, v] of Object.entries(c)) d[k] = v - (b[k] ?? 0);
    if (d.calls > 0) operations[op] = d;
    if (d.calls > 0 && NOT_EMR.has(op)) other += d.calls;
  }
  return {
    // EMR's own calls; `operations` lists the others too.
    total: (after.total ?? 0) - (before.total ?? 0) - other,
    throttled: (after.throttled ?? 0) - (before.throttled ?? 0),
    operations,
  };
}

/**
 * What the execution would cost on Step Functions: state transitions (states entered, retries
 * included) and history events, counted the way Standard workflows write them:
 * ExecutionStarted; per state entered XStateEntered and (unless a Fail state) XStateExited; per
 * Lambda attempt LambdaFunctionScheduled, LambdaFunctionStarted, LambdaFunctionSucceeded/Failed;
 * per attempt of a Task on the Lambda integration TaskScheduled, TaskStarted and TaskSucceeded/Failed/TimedOut,
 * with TaskSubmitted between them when a callback's invocation succeeded (so a callback Task that waited and got
 * its answer writes 2 + 4 events; SendTaskHeartbeat writes none); ExecutionSucceeded/Failed. A Wait → Task →
 * Choice poll is 2 + 5 + 2 = 9 events. Lambda invocations count every function the run invoked: its Tasks' and
 * each attempt of an EMR event delivery (by the function's name, e.g. event-router).
 */
export function metrics(report, def) {
  const entered = report.events.filter((e) => e.type === 'StateEntered');
  const retries = report.events.filter((e) => e.type === 'StateRetried').length;
  const byName = Object.fromEntries(allStates(def));
  const failStates = entered.filter((e) => byName[e.state.name]?.Type === 'Fail').length;
  const lambda = {};
  let lambdaTotal = 0;
  const count = (fn, n) => {
    lambda[fn] = (lambda[fn] ?? 0) + n;
    lambdaTotal += n;
  };
  for (const i of report.invocations) if (i.fn) count(i.fn, 1);
  for (const d of report.eventDeliveries ?? []) if (d.attempts > 0) count(d.fn, d.attempts);
  const taskEvents = report.invocations.reduce((n, i) => n + (i.historyEvents ?? 3), 0);
  const historyEvents = 1 + entered.length * 2 - failStates + taskEvents + 1;
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
    callbackWaits: (report.callbackWaits ?? []).length,
    callbackWaitSeconds: (report.callbackWaits ?? []).reduce((n, w) => n + (w.waitedSeconds ?? 0), 0),
    eventDeliveries: (report.eventDeliveries ?? []).length,
    droppedEvents: (report.eventDeliveries ?? []).filter((d) => d.dropped).length,
    emrCallsTotal: report.emrCalls.total,
    byState,
  };
}

export { FunctionError } from './lambda-runtime.mjs';
