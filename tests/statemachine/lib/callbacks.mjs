// Task tokens of callback Tasks (`arn:aws:states:::lambda:invoke.waitForTaskToken`) and the Step Functions
// operations that answer them (SendTaskSuccess, SendTaskFailure, SendTaskHeartbeat), with AWS's contract:
//
// - A token is issued for each attempt of a callback Task and registered before its function is invoked, so the
//   function may answer it during its own invocation. It is opaque to its holders and ends when its task ends (an
//   answer, a timeout, the execution's end): from then on every SendTask* on it answers TaskTimedOut ("expired or
//   already closed"). A well-formed token this endpoint never issued answers TaskDoesNotExist; a malformed one,
//   InvalidToken. All with HTTP 400, as the API reference says.
// - SendTaskSuccess's output must be JSON (InvalidOutput) of at most 262,144 bytes (ValidationException, the
//   request's length constraint); SendTaskFailure's error and cause at most 256 and 32,768 characters.
// - Every call is authorized by the EMR emulator's IAM (the same principals as every other local service): the
//   caller is the access key of the SigV4 credential scope, the action `states:SendTaskSuccess` (etc.), the resource
//   the ARN of the state machine whose execution owns the token, so a role allowed only this stack's state machines
//   can answer only their tokens. A refusal is AccessDeniedException (unknown key: UnrecognizedClientException).
//
// The checks run in that order: the request's shape, the token's form, IAM, the output's JSON, the task's state.

import { createServer } from 'node:http';
import { randomUUID } from 'node:crypto';
import { callerOf } from './iam-guard.mjs';

/** Step Functions' limit on SendTaskSuccess's output (UTF-8 bytes). */
export const OUTPUT_LIMIT = 262144;
/** The longest token SendTask* accept. */
export const TOKEN_MAX_LENGTH = 2048;
const PREFIX = 'AQC';
const OPERATIONS = ['SendTaskSuccess', 'SendTaskFailure', 'SendTaskHeartbeat'];

/** An error answer of the Step Functions API: `type` is its `__type`, `status` its HTTP status. */
export class StatesApiError extends Error {
  constructor(type, message, status = 400) {
    super(message);
    this.name = type;
    this.type = type;
    this.status = status;
  }
}

/** The state machine ARN of an execution ARN (`…:execution:<machine>:<name>` → `…:stateMachine:<machine>`). */
export function stateMachineOf(executionArn) {
  const m = /^(arn:[^:]+:states:[^:]*:[^:]*):execution:([^:]+):[^:]+$/.exec(executionArn);
  if (!m) throw new Error(`not an execution ARN: ${executionArn}`);
  return `${m[1]}:stateMachine:${m[2]}`;
}

/**
 * A token of the form this endpoint issues, for `executionArn`'s task `state` (what `issue` makes, unregistered).
 * With `length`, the nonce is padded so the token is as long as that allows (at most `length` characters): Step
 * Functions' tokens vary in length, up to TOKEN_MAX_LENGTH.
 */
export function wellFormedToken(executionArn, state, nonce = randomUUID(), length = 0) {
  const make = (n) => `${PREFIX}${Buffer.from(JSON.stringify({ v: 1, x: executionArn, s: state, n }), 'utf8').toString('base64url')}`;
  let pad = 0;
  while (length && make(`${nonce}${'x'.repeat(pad + 1)}`).length <= length) pad += 1;
  return make(`${nonce}${'x'.repeat(pad)}`);
}

/** What a token says (execution, state), or null if it is not one of this endpoint's form. */
export function parseToken(token) {
  if (typeof token !== 'string' || !token.startsWith(PREFIX)) return null;
  try {
    const t = JSON.parse(Buffer.from(token.slice(PREFIX.length), 'base64url').toString('utf8'));
    if (t?.v !== 1 || typeof t.x !== 'string' || typeof t.s !== 'string' || typeof t.n !== 'string') return null;
    return { executionArn: t.x, state: t.s, stateMachineArn: stateMachineOf(t.x) };
  } catch {
    return null;
  }
}

const utf8 = (s) => Buffer.byteLength(s, 'utf8');
const validation = (message) => new StatesApiError('ValidationException', `1 validation error detected: ${message}`);

export class TaskTokens {
  /**
   * @param {{authorize: (caller: {accessKeyId: string|null, region: string}, action: string, resource: string) =>
   *            Promise<{allowed: boolean, error?: string, message?: string}>, now: () => number}} options
   *   authorize: the IAM decision (the emulator's POST /_emulator/iam/authorize); now: virtual epoch seconds, recorded
   *   with each answer and heartbeat.
   */
  constructor({ authorize, now, tokenLength = 0 }) {
    this.authorize = authorize;
    this.now = now;
    /** How long issued tokens are (0: as short as their content). */
    this.tokenLength = tokenLength;
    /** token -> task: {token, executionArn, stateMachineArn, state, open, answer?, heartbeats, lastHeartbeat, ended?} */
    this.tasks = new Map();
    /** Every SendTask* call: {op, accessKeyId, at, error?}. */
    this.calls = [];
  }

  /** Issues and registers the token of one attempt of the callback Task `state` of `executionArn`. */
  issue({ executionArn, state }) {
    const token = wellFormedToken(executionArn, state, randomUUID(), this.tokenLength);
    const now = this.now();
    const task = { token, executionArn, stateMachineArn: stateMachineOf(executionArn), state, open: true, issuedAt: now, heartbeats: 0, lastHeartbeat: now };
    task.answered = new Promise((resolve) => {
      task.notify = resolve;
    });
    this.tasks.set(token, task);
    return task;
  }

  get(token) {
    return this.tasks.get(token);
  }

  /** Ends the task: every later SendTask* on its token answers TaskTimedOut. `how`: why (recorded). */
  close(token, how) {
    const task = this.tasks.get(token);
    if (task?.open) {
      task.open = false;
      task.ended = how;
    }
  }

  /** Closes every open task of `executionArn` (its execution ended). */
  closeExecution(executionArn, how = 'execution ended') {
    for (const task of this.tasks.values()) if (task.executionArn === executionArn) this.close(task.token, how);
  }

  /**
   * One SendTask* request: `op` (SendTaskSuccess | SendTaskFailure | SendTaskHeartbeat), its JSON body and its
   * headers (the caller's credential scope). Resolves with the answer ({}), rejects with a StatesApiError.
   */
  async handle(op, body, headers) {
    const caller = callerOf(headers);
    const call = { op, accessKeyId: caller.accessKeyId, at: this.now() };
    this.calls.push(call);
    try {
      return await this.send(op, body ?? {}, caller);
    } catch (e) {
      call.error = e.type ?? e.name;
      throw e;
    }
  }

  async send(op, body, caller) {
    if (!OPERATIONS.includes(op)) throw new StatesApiError('UnknownOperationException', `unknown operation ${op}`);
    const { taskToken } = body;
    if (typeof taskToken !== 'string') throw validation("Value null at 'taskToken' failed to satisfy constraint: Member must not be null");
    if (taskToken.length < 1 || taskToken.length > TOKEN_MAX_LENGTH) {
      throw validation(`Value at 'taskToken' failed to satisfy constraint: Member must have length between 1 and ${TOKEN_MAX_LENGTH}`);
    }
    if (op === 'SendTaskSuccess') {
      if (typeof body.output !== 'string') throw validation("Value null at 'output' failed to satisfy constraint: Member must not be null");
      if (utf8(body.output) > OUTPUT_LIMIT) {
        throw validation(`Value at 'output' failed to satisfy constraint: Member must have length less than or equal to ${OUTPUT_LIMIT}`);
      }
    }
    if (op === 'SendTaskFailure') {
      if (body.error != null && String(body.error).length > 256) throw validation("Value at 'error' failed to satisfy constraint: Member must have length less than or equal to 256");
      if (body.cause != null && String(body.cause).length > 32768) throw validation("Value at 'cause' failed to satisfy constraint: Member must have length less than or equal to 32768");
    }
    const parsed = parseToken(taskToken);
    if (!parsed) throw new StatesApiError('InvalidToken', `Invalid Token: '${taskToken.slice(0, 64)}'`);
    const verdict = await this.authorize(caller, `states:${op}`, parsed.stateMachineArn);
    if (!verdict.allowed) {
      throw new StatesApiError(verdict.error === 'UnrecognizedClientException' ? 'UnrecognizedClientException' : 'AccessDeniedException', verdict.message ?? 'Access denied');
    }
    let output;
    if (op === 'SendTaskSuccess') {
      try {
        output = JSON.parse(body.output);
      } catch (e) {
        throw new StatesApiError('InvalidOutput', `Invalid Output: ${e.message}`);
      }
    }
    const task = this.tasks.get(taskToken);
    if (!task) throw new StatesApiError('TaskDoesNotExist', 'Task Does Not Exist');
    if (!task.open) throw new StatesApiError('TaskTimedOut', `Task Timed Out: '${task.executionArn}' (${task.ended})`);
    const at = this.now();
    if (op === 'SendTaskHeartbeat') {
      task.heartbeats += 1;
      task.lastHeartbeat = at;
      return {};
    }
    task.answer =
      op === 'SendTaskSuccess'
        ? { kind: 'success', output, outputBytes: utf8(body.output), accessKeyId: caller.accessKeyId, at }
        : { kind: 'failure', error: body.error ?? null, cause: body.cause ?? null, accessKeyId: caller.accessKeyId, at };
    this.close(taskToken, op === 'SendTaskSuccess' ? 'succeeded' : 'failed');
    task.notify(task.answer);
    return {};
  }
}

/**
 * An HTTP endpoint speaking Step Functions' JSON 1.0 protocol (`X-Amz-Target: AWSStepFunctions.<Operation>`) for the
 * SendTask* operations: what the functions' AWS_ENDPOINT_URL_SFN points at. Other operations go to `fallback`
 * (op, body) when given, else answer UnknownOperationException.
 */
export class StatesApiServer {
  /**
   * @param {{tokens: TaskTokens, fallback?: (op: string, body: object, headers: object) => object | Promise<object>,
   *          onCall?: (op: string, headers: object) => void}} options onCall: each request's operation and headers, as
 *   it comes in
   */
  constructor({ tokens, fallback, onCall }) {
    this.tokens = tokens;
    this.fallback = fallback;
    this.onCall = onCall;
    /** Every request answered: {op, accessKeyId, status}. */
    this.requests = [];
  }

  async start() {
    this.server = createServer((req, res) => {
      const chunks = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', async () => {
        const op = String(req.headers['x-amz-target'] ?? '').replace(/^AWSStepFunctions\./, '');
        this.onCall?.(op, req.headers);
        let body;
        try {
          body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
        } catch {
          body = {}; // then the operation's own validation answers
        }
        let status = 200;
        let answer;
        try {
          if (OPERATIONS.includes(op)) answer = await this.tokens.handle(op, body, req.headers);
          else if (this.fallback) answer = await this.fallback(op, body, req.headers);
          else throw new StatesApiError('UnknownOperationException', `unknown operation ${op}`);
        } catch (e) {
          status = e.status ?? 500;
          answer = { __type: e.type ?? 'InternalFailure', message: e.message };
        }
        this.requests.push({ op, accessKeyId: callerOf(req.headers).accessKeyId, status });
        res.writeHead(status, { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-requestid': randomUUID() });
        res.end(JSON.stringify(answer));
      });
    });
    await new Promise((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${this.server.address().port}`;
    return this;
  }

  async stop() {
    if (!this.server) return;
    await new Promise((resolve) => {
      this.server.closeAllConnections?.();
      this.server.close(() => resolve());
    });
  }
}
