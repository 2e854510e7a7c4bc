// moto's server (PyPI) as the local S3 for configs given as s3:// references.

import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
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

export class Moto {
  async start() {
    const port = await freePort();
    this.url = `http://127.0.0.1:${port}`;
    this.output = [];
    this.process = spawn(motoServer(), ['-H', '127.0.0.1', '-p', String(port)], { stdio: ['ignore', 'pipe', 'pipe'] });
    const keep = (c) => this.output.push(c.toString('utf8'));
    this.process.stdout.on('data', keep);
    this.process.stderr.on('data', keep);
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (this.process.exitCode !== null) throw new Error(`moto_server exited: ${this.output.join('')}`);
      try {
        const res = await fetch(`${this.url}/moto-api/data.json`);
        if (res.ok) break;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error(`moto_server did not start within 30 s: ${this.output.join('')}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    return this;
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

  async stop() {
    const child = this.process;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
    if (child.exitCode === null) child.kill('SIGKILL');
  }
}
