// IAM in front of the local S3: moto's S3 checks no permissions, so the functions reach it through
// this proxy, which asks the EMR emulator's IAM (the same principals, read from infra/template.yaml)
// whether the caller's role may do what it asks, answers 403 AccessDenied as S3 does when not, and
// forwards the request to moto when it may. It records every request it sees.

import { createServer, request as httpRequest } from 'node:http';

/** The S3 action and resource ARN of a path-style request. */
export function s3Access(method, url) {
  const path = decodeURIComponent(new URL(url, 'http://x').pathname).replace(/^\//, '');
  const slash = path.indexOf('/');
  const bucket = slash < 0 ? path : path.slice(0, slash);
  const key = slash < 0 ? '' : path.slice(slash + 1);
  if (!key) {
    const action = method === 'GET' ? 's3:ListBucket' : method === 'PUT' ? 's3:CreateBucket' : `s3:${method}Bucket`;
    return { action, resource: `arn:aws:s3:::${bucket}`, bucket, key };
  }
  const action = { GET: 's3:GetObject', HEAD: 's3:GetObject', PUT: 's3:PutObject', DELETE: 's3:DeleteObject' }[method] ?? `s3:${method}`;
  return { action, resource: `arn:aws:s3:::${bucket}/${key}`, bucket, key };
}

function callerOf(headers) {
  const m = /Credential=([^/,\s]+)\/[^/]+\/([^/]+)\//.exec(headers.authorization ?? '');
  return m ? { accessKeyId: m[1], region: m[2] } : { accessKeyId: null, region: 'us-east-1' };
}

export class S3Guard {
  constructor({ target, emulator }) {
    this.target = new URL(target);
    this.emulator = emulator;
    this.requests = [];
  }

  async start() {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((e) => {
        res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(String(e));
      });
    });
    await new Promise((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${this.server.address().port}`;
    return this;
  }

  async handle(req, res) {
    const access = s3Access(req.method, req.url);
    const caller = callerOf(req.headers);
    const verdict = await this.emulator.admin('POST', 'iam/authorize', { ...caller, action: access.action, resource: access.resource });
    this.requests.push({ method: req.method, url: req.url, ...access, accessKeyId: caller.accessKeyId, allowed: verdict.allowed });
    if (!verdict.allowed) {
      const code = verdict.error === 'UnrecognizedClientException' ? 'InvalidAccessKeyId' : 'AccessDenied';
      res.writeHead(403, { 'content-type': 'application/xml' });
      res.end(`<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>Access Denied</Message><Resource>${access.resource}</Resource></Error>`);
      return;
    }
    const upstream = httpRequest(
      { host: this.target.hostname, port: this.target.port, method: req.method, path: req.url, headers: req.headers },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    upstream.on('error', (e) => {
      res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(String(e));
    });
    req.pipe(upstream);
  }

  async stop() {
    if (!this.server) return;
    await new Promise((resolve) => {
      this.server.closeAllConnections?.();
      this.server.close(() => resolve());
    });
  }
}
