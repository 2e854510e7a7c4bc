// The local EMR emulator (crates/emr-emulator) as a child process, and its admin API.
// It runs with a frozen clock (time scale 0): virtual time moves only when the harness advances it
// by exactly what the state machine's Wait states asked for, so every run is deterministic and a
// 14-day job takes seconds.

import { spawn } from 'node:child_process';
import { binary } from './paths.mjs';

export class Emulator {
  constructor({ log } = {}) {
    this.log = log;
    this.stderr = [];
  }

  async start() {
    const args = ['--port', '0', '--time-scale', '0'];
    const child = spawn(binary('emr-emulator'), args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.process = child;
    child.stderr.on('data', (c) => {
      const text = c.toString('utf8');
      this.stderr.push(text);
      this.log?.(`emr-emulator: ${text.trimEnd()}`);
    });
    this.url = await new Promise((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error('emr-emulator did not start within 10 s')), 10_000);
      child.stdout.on('data', (c) => {
        out += c.toString('utf8');
        const m = /emr-emulator listening on (http:\/\/\S+)/.exec(out);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]);
        }
      });
      child.on('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`emr-emulator exited (${code}): ${this.stderr.join('')}`));
      });
    });
    const config = await this.admin('GET', 'config');
    this.startedAt = config.now; // virtual epoch seconds
    return this;
  }

  async admin(method, path, body) {
    const res = await fetch(`${this.url}/_emulator/${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`emulator ${method} ${path}: ${res.status} ${text}`);
    return JSON.parse(text);
  }

  /**
   * Whether this emulator emits EMR events (GET next-change answers): the events API came later than the rest of the
   * admin API. Asked once.
   */
  async supportsEvents() {
    if (this.eventsSupported === undefined) {
      const res = await fetch(`${this.url}/_emulator/next-change`);
      await res.text();
      this.eventsSupported = res.ok;
    }
    return this.eventsSupported;
  }

  /**
   * The next virtual time something happens by itself (a cluster or step transition, a delayed event becoming
   * deliverable): {at: epoch seconds | null, now}. Without the events API: {at: null}.
   */
  async nextChange() {
    if (!(await this.supportsEvents())) return { at: null };
    return this.admin('GET', 'next-change');
  }

  /** The EMR events deliverable by now, each handed out once: [{seq, deliverAt, event}]. Without the events API: []. */
  async takeEvents() {
    if (!(await this.supportsEvents())) return [];
    return (await this.admin('POST', 'events/take')).events;
  }

  /** Every event the emulator emitted, delivered or not (its log). */
  async eventLog() {
    return this.admin('GET', 'events/log');
  }

  /** Virtual now, epoch seconds. */
  async now() {
    return (await this.admin('GET', 'config')).now;
  }

  advance(seconds) {
    return this.admin('POST', 'clock', { advanceSeconds: seconds });
  }

  setScenario(scenario) {
    return this.admin('POST', 'scenario', scenario);
  }

  setFaults(faults) {
    return this.admin('POST', 'faults', faults);
  }

  calls() {
    return this.admin('GET', 'calls');
  }

  resetCalls() {
    return this.admin('POST', 'calls/reset');
  }

  /**
   * Authorize every EMR call from now on: `principals` maps an access key id to a logical id of the
   * template (a function or a role: its policies) or to `{name, policies}`.
   */
  setIam({ template, stackName, region, parameters, principals }) {
    return this.admin('PUT', 'iam', { template, stack: { stackName, region, parameters }, principals });
  }

  /** A resource of the template as CloudFormation would deploy it: {Type, Ref, Attributes, Properties}, resolved. */
  resource({ template, stackName, region, parameters }, logicalId) {
    return this.admin('POST', 'template/resource', { template, stack: { stackName, region, parameters }, logicalId });
  }

  /** Every EMR request received: operation, accessKeyId, region, body (text), status, error. */
  async requests() {
    return (await this.admin('GET', 'requests')).requests;
  }

  /** Clusters as DescribeCluster shows them, each with its Steps in submission order. */
  async clusters() {
    return (await this.admin('GET', 'state')).clusters;
  }

  /** EMR Serverless applications as the emulator holds them, each with its jobRuns in submission order. */
  async applications() {
    return (await this.admin('GET', 'state')).serverless.applications;
  }

  async stop() {
    const child = this.process;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 2000))]);
    if (child.exitCode === null) child.kill('SIGKILL');
  }
}
