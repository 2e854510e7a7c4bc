// IAM in front of a local AWS service that checks no permissions itself (moto's S3 and DynamoDB): the functions reach
// it through this proxy, which asks the EMR emulator's IAM (the same principals, read from infra/template.yaml)
// whether the caller's role may do what it asks, answers as the service does when not, and forwards the request when
// it may. It records every request it sees, with the service's HTTP status once it answered.

import { createServer, request as httpRequest } from 'node:http';

/** The access key id and region of a SigV4-signed request (its credential scope); nothing is verified. */
export function callerOf(headers) {
  const m = /Credential=([^/,\s]+)\/[^/]+\/([^/]+)\//.exec(headers.authorization ?? '');
  return m ? { accessKeyId: m[1], region: m[2] } : { accessKeyId: null, region: 'us-east-1' };
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

export class IamGuard {
  /**
   * @param {{target: string, emulator: object,
   *          access: (req: import('node:http').IncomingMessage, body: Buffer, caller: object) => {action: string, resource: string},
   *          deny: (res: import('node:http').ServerResponse, verdict: object, access: object) => void,
   *          oneAtATime?: boolean}} options
   *   access: the IAM action and resource ARN a request needs; deny: the service's answer to a refused one;
   *   oneAtATime: forward one request at a time (the service applies each request atomically, the stand-in does not).
   */
  constructor({ target, emulator, access, deny, oneAtATime = false }) {
    this.target = new URL(target);
    this.emulator = emulator;
    this.access = access;
    this.deny = deny;
    this.oneAtATime = oneAtATime;
    this.queue = Promise.resolve();
    this.requests = [];
  }

  async start() {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((e) => {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(String(e));
      });
    });
    await new Promise((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${this.server.address().port}`;
    return this;
  }

  async handle(req, res) {
    const body = await readBody(req);
    const caller = callerOf(req.headers);
    const access = this.access(req, body, caller);
    const verdict = await this.emulator.admin('POST', 'iam/authorize', { ...caller, action: access.action, resource: access.resource });
    const record = { method: req.method, url: req.url, ...access, accessKeyId: caller.accessKeyId, allowed: verdict.allowed };
    this.requests.push(record);
    if (!verdict.allowed) {
      this.deny(res, verdict, access);
      return;
    }
    const forward = async () => {
      record.status = await this.forward(req, body, res);
    };
    if (!this.oneAtATime) return forward();
    const turn = this.queue.then(forward);
    this.queue = turn.catch(() => undefined);
    return turn;
  }

  /** Forwards the request to the service and its answer to the caller; resolves with the answer's HTTP status. */
  forward(req, body, res) {
    return new Promise((resolve, reject) => {
      const upstream = httpRequest(
        { host: this.target.hostname, port: this.target.port, method: req.method, path: req.url, headers: req.headers },
        (up) => {
          const chunks = [];
          up.on('data', (c) => chunks.push(c));
          up.on('error', reject);
          up.on('end', () => {
            res.writeHead(up.statusCode ?? 502, up.headers);
            res.end(Buffer.concat(chunks));
            resolve(up.statusCode ?? 502);
          });
        },
      );
      upstream.on('error', (e) => {
        res.writeHead(502, { 'content-type': 'text/plain' });
        res.end(String(e));
        resolve(502);
      });
      upstream.end(body);
    });
  }

  async stop() {
    if (!this.server) return;
    await new Promise((resolve) => {
      this.server.closeAllConnections?.();
      this.server.close(() => resolve());
    });
  }
}
