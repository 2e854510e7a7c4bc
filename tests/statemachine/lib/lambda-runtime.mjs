// A local stand-in for the Lambda service: it runs a function's real binary and hands it events
// through the Lambda Runtime API (the protocol `lambda_runtime` speaks inside real Lambda):
//   GET  /2018-06-01/runtime/invocation/next            the next event (long poll)
//   POST /2018-06-01/runtime/invocation/{id}/response   its result
//   POST /2018-06-01/runtime/invocation/{id}/error      {"errorType", "errorMessage"}
//   POST /2018-06-01/runtime/init/error                 the function could not start
// A function error becomes a JavaScript error whose `name` is the errorType, which is what Step
// Functions' Retry and Catch match.

import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';

const PREFIX = '/2018-06-01/runtime';

/** A function error as Step Functions sees it: Error = errorType, Cause = errorMessage. */
export class FunctionError extends Error {
  constructor(errorType, errorMessage) {
    super(errorMessage ?? '');
    this.name = errorType || 'Unknown';
  }
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function parseJson(text, fallback) {
  try {
    return JSON.parse(text);
  } catch {
    return fallback;
  }
}

export class LambdaFunction {
  /**
   * @param {string} name function name (AWS_LAMBDA_FUNCTION_NAME)
   * @param {string} binaryPath the built binary
   * @param {Record<string,string>} env extra environment (endpoints, region, credentials)
   * @param {{timeoutMs?: number, log?: (line: string) => void, args?: string[]}} options (args: the command's
   *   arguments, for a runtime started as an interpreter, e.g. `python -m awslambdaric handler.handler`)
   */
  constructor(name, binaryPath, env, { timeoutMs = 60_000, log, args = [] } = {}) {
    this.name = name;
    this.binaryPath = binaryPath;
    this.args = args;
    this.env = env;
    this.timeoutMs = timeoutMs;
    this.log = log;
    this.arn = `arn:aws:lambda:eu-west-1:123456789012:function:${name}`;
    this.queue = []; // invocations not yet handed to the binary
    this.inFlight = new Map(); // requestId -> invocation
    this.waiting = null; // the binary's pending GET /next
    this.process = null;
    this.initError = null;
    this.invocations = 0;
    this.errors = 0;
    this.logLines = [];
  }

  async start() {
    this.server = createServer((req, res) => {
      this.route(req, res).catch((e) => {
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ errorMessage: String(e) }));
      });
    });
    this.server.keepAliveTimeout = 0;
    await new Promise((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = this.server.address().port;
    this.spawn();
  }

  spawn() {
    this.initError = null;
    const child = spawn(this.binaryPath, this.args, {
      env: {
        PATH: process.env.PATH,
        RUST_LOG: process.env.RUST_LOG ?? 'info',
        RUST_BACKTRACE: '1',
        ...this.env,
        AWS_LAMBDA_RUNTIME_API: `127.0.0.1:${this.port}`,
        AWS_LAMBDA_FUNCTION_NAME: this.name,
        AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
        AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '128',
        AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${this.name}`,
        AWS_LAMBDA_LOG_STREAM_NAME: 'local',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const keep = (chunk) => {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (!line) continue;
        this.logLines.push(line);
        if (this.logLines.length > 2000) this.logLines.shift();
        this.log?.(`${this.name}: ${line}`);
      }
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.on('exit', (code, signal) => {
      if (this.process !== child) return;
      this.process = null;
      // What Lambda reports when the runtime process dies during an invocation.
      for (const inv of this.inFlight.values()) {
        inv.reject(new FunctionError('Runtime.ExitError', `${this.name} exited (${signal ?? code}) during the invocation`));
      }
      this.inFlight.clear();
      if (this.waiting) {
        this.waiting.res.destroy();
        this.waiting = null;
      }
    });
    this.process = child;
  }

  /** Invoke with an event; resolves with the result, rejects with a FunctionError. */
  invoke(event) {
    this.invocations += 1;
    if (this.stopped) return Promise.reject(new FunctionError('Lambda.ServiceException', `${this.name} is stopped`));
    if (!this.process) this.spawn();
    const { promise, resolve, reject } = Promise.withResolvers();
    const inv = {
      id: randomUUID(),
      body: JSON.stringify(event),
      resolve,
      reject: (e) => {
        this.errors += 1;
        reject(e);
      },
    };
    if (this.initError) {
      inv.reject(new FunctionError(this.initError.errorType ?? 'Runtime.InitError', this.initError.errorMessage));
      return promise;
    }
    this.queue.push(inv);
    this.dispatch();
    return promise;
  }

  dispatch() {
    if (!this.waiting || this.queue.length === 0) return;
    const inv = this.queue.shift();
    const { res } = this.waiting;
    this.waiting = null;
    this.inFlight.set(inv.id, inv);
    res.writeHead(200, {
      'content-type': 'application/json',
      'lambda-runtime-aws-request-id': inv.id,
      'lambda-runtime-deadline-ms': String(Date.now() + this.timeoutMs),
      'lambda-runtime-invoked-function-arn': this.arn,
      'lambda-runtime-trace-id': `Root=1-${Math.floor(Date.now() / 1000).toString(16)}-${inv.id.replaceAll('-', '').slice(0, 24)};Parent=0000000000000000;Sampled=0`,
    });
    res.end(inv.body);
  }

  async route(req, res) {
    const url = req.url ?? '';
    if (req.method === 'GET' && url === `${PREFIX}/invocation/next`) {
      this.waiting = { res };
      req.on('close', () => {
        if (this.waiting?.res === res) this.waiting = null;
      });
      this.dispatch();
      return;
    }
    const body = await readBody(req);
    const done = (status = 202) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end('{"status":"OK"}');
    };
    if (req.method === 'POST' && url === `${PREFIX}/init/error`) {
      this.initError = parseJson(body, { errorType: 'Runtime.InitError', errorMessage: body });
      for (const inv of this.queue.splice(0)) {
        inv.reject(new FunctionError(this.initError.errorType ?? 'Runtime.InitError', this.initError.errorMessage));
      }
      return done();
    }
    const m = /^\/2018-06-01\/runtime\/invocation\/([^/]+)\/(response|error)$/.exec(url);
    if (req.method === 'POST' && m) {
      const inv = this.inFlight.get(m[1]);
      if (!inv) {
        res.writeHead(400, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ errorMessage: `unknown request id ${m[1]}`, errorType: 'InvalidRequestID' }));
        return;
      }
      this.inFlight.delete(m[1]);
      if (m[2] === 'response') {
        const value = parseJson(body, undefined);
        if (value === undefined && body !== '') inv.reject(new FunctionError('Runtime.InvalidResponse', body));
        else inv.resolve(value ?? null);
      } else {
        const e = parseJson(body, { errorType: 'Unknown', errorMessage: body });
        inv.reject(new FunctionError(e.errorType, e.errorMessage));
      }
      return done();
    }
    res.writeHead(404, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ errorMessage: `no route ${req.method} ${url}` }));
  }

  async stop() {
    this.stopped = true;
    const child = this.process;
    this.process = null;
    if (child && child.exitCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 2000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
    }
    if (this.waiting) this.waiting.res.destroy();
    await new Promise((resolve) => {
      this.server.closeAllConnections?.();
      this.server.close(() => resolve());
    });
  }
}

/**
 * A function as Lambda runs it under load: an invocation that finds every instance busy gets a new one (its own
 * process, a cold start), up to `maxInstances`; beyond that it waits for the least busy. So concurrent executions
 * reach the function concurrently, as on AWS.
 */
export class LambdaPool {
  constructor(name, binaryPath, env, { maxInstances = 32, ...options } = {}) {
    this.args = [name, binaryPath, env, options];
    this.maxInstances = maxInstances;
    this.instances = [];
    this.starting = 0;
  }

  async start() {
    this.instances.push(await this.cold());
  }

  /** A new instance, started, not yet in the pool (so no other invocation takes it first). */
  async cold() {
    this.starting += 1;
    try {
      const instance = new LambdaFunction(...this.args);
      await instance.start();
      return instance;
    } finally {
      this.starting -= 1;
    }
  }

  async invoke(event) {
    const load = (f) => f.inFlight.size + f.queue.length;
    let instance = this.instances.find((f) => load(f) === 0);
    if (!instance && this.instances.length + this.starting < this.maxInstances) {
      instance = await this.cold();
      const result = instance.invoke(event);
      this.instances.push(instance);
      return result;
    }
    instance ??= this.instances.reduce((a, b) => (load(b) < load(a) ? b : a));
    return instance.invoke(event);
  }

  get logLines() {
    return this.instances.flatMap((f) => f.logLines);
  }

  get invocations() {
    return this.instances.reduce((n, f) => n + f.invocations, 0);
  }

  async stop() {
    await Promise.all(this.instances.map((f) => f.stop()));
  }
}
