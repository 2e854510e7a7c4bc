// moto's server (PyPI) as the local S3 (configs given as s3:// references) and the local DynamoDB (the stack's lock
// table). One server per test process, started on first use and killed when the process exits: each Environment
// empties it when it starts (environments of one process run one after the other).

import { spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { motoServer } from './paths.mjs';

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

let shared;

export class Moto {
  /** The process's server, started on first use. */
  static shared() {
    shared ??= new Moto().start().catch((e) => {
      shared = undefined;
      throw e;
    });
    return shared;
  }

  async start() {
    const port = await freePort();
    this.url = `http://127.0.0.1:${port}`;
    // Its log goes to a file: a pipe would keep this process alive, and moto writes a line per request.
    const dir = mkdtempSync(join(tmpdir(), 'moto-'));
    this.logFile = join(dir, 'moto.log');
    const fd = openSync(this.logFile, 'w');
    this.process = spawn(motoServer(), ['-H', '127.0.0.1', '-p', String(port)], { stdio: ['ignore', fd, fd] });
    closeSync(fd);
    this.process.unref();
    const child = this.process;
    process.once('exit', () => {
      child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    });
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (this.process.exitCode !== null) throw new Error(`moto_server exited: ${this.output()}`);
      try {
        const res = await fetch(`${this.url}/moto-api/data.json`);
        if (res.ok) break;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error(`moto_server did not start within 30 s: ${this.output()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    return this;
  }

  output() {
    try {
      return readFileSync(this.logFile, 'utf8');
    } catch {
      return '';
    }
  }

  /** Forgets every bucket, object and table. */
  async reset() {
    const res = await fetch(`${this.url}/moto-api/reset`, { method: 'POST' });
    if (!res.ok) throw new Error(`moto reset: ${res.status} ${await res.text()}`);
  }

  async createBucket(bucket) {
    const res = await fetch(`${this.url}/${bucket}`, { method: 'PUT' });
    if (!res.ok && res.status !== 409) throw new Error(`create bucket ${bucket}: ${res.status} ${await res.text()}`);
  }

  /** Stores bytes at s3://bucket/key. */
  async putBytes(bucket, key, body) {
    const res = await fetch(`${this.url}/${bucket}/${key}`, { method: 'PUT', body });
    if (!res.ok) throw new Error(`put s3://${bucket}/${key}: ${res.status} ${await res.text()}`);
  }

  /** Stores text at s3://bucket/key and returns that URI. */
  async putText(bucket, key, text) {
    const res = await fetch(`${this.url}/${bucket}/${key}`, { method: 'PUT', body: text });
    if (!res.ok) throw new Error(`put s3://${bucket}/${key}: ${res.status} ${await res.text()}`);
    return `s3://${bucket}/${key}`;
  }
}
