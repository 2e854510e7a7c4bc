// `make bench`, first part: each Lambda's release artifact measured under a local Lambda Runtime API
// (the protocol lambda_runtime speaks inside real Lambda), against the local EMR emulator.
//   cold start  = process start -> first invocation answered (init shown separately: start -> first GET /next)
//   warm        = one invocation, median and p95 of 30, end to end (with its calls to the emulator on loopback),
//                 and the median less those calls at the emulator's measured round trip (an estimate of the
//                 function's own time)
//   peak RSS    = VmHWM of the process after those invocations
//   zip         = target/lambda/<name>/bootstrap.zip, as deployed
// Results: bench/results/lambdas.json and a table on stdout.
import '../tests/statemachine/lib/polyfill.mjs';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Emulator } from '../tests/statemachine/lib/emulator.mjs';
import { LambdaFunction } from '../tests/statemachine/lib/lambda-runtime.mjs';
import { repoRoot } from '../tests/statemachine/lib/paths.mjs';
import { REGION, accessKeyOf, executionArn, functionEnv, stackIam } from '../tests/statemachine/lib/stack.mjs';

const FUNCTIONS = ['launch-cluster', 'add-steps', 'check-status', 'terminate-cluster'];
const WARM = 30;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const ms = (ns) => Number(ns) / 1e6;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const p95 = (xs) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * 0.95))];

function peakRssKiB(pid) {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : null;
}

function extract(name) {
  const zip = join(repoRoot, 'target', 'lambda', name, 'bootstrap.zip');
  const dir = mkdtempSync(join(tmpdir(), `${name}-`));
  execFileSync('unzip', ['-q', '-o', zip, '-d', dir]);
  return { zip, zipBytes: statSync(zip).size, binary: join(dir, 'bootstrap') };
}

const cluster = JSON.parse(readFileSync(join(repoRoot, 'tests/reference/real/01-dfr-sample-cluster-1-1-0.json'), 'utf8'));
const playbook = JSON.parse(readFileSync(join(repoRoot, 'tests/reference/real/02-dfr-sample-playbook-1-0-1.json'), 'utf8'));

/** The event each function gets, and how many EMR calls it makes in steady state. */
function events(clusterId, i) {
  return {
    // startedAt bounds the idempotency look-up to this run, as the state machines pass it
    // each run its own cluster name, as distinct jobs have: the idempotency look-up then costs one ListClusters
    'launch-cluster': {
      event: {
        cluster: { ...cluster, data: { ...cluster.data, name: `bench ${i}` } },
        lifecycle: 'persistent',
        run: { key: `bench-${i}`, executionArn: executionArn('up', `bench-${i}`), startedAt: new Date().toISOString() },
      },
      emrCalls: 2,
    },
    'add-steps': { event: { clusterId, playbook, run: { key: `bench-steps-${i}`, startedAt: new Date().toISOString() } }, emrCalls: 3 },
    'check-status': { event: { clusterId, mode: 'up' }, emrCalls: 1 },
    'terminate-cluster': { event: { clusterId }, emrCalls: 1 },
  };
}

async function emulatorCallMs(url, clusterId) {
  const times = [];
  for (let i = 0; i < 50; i++) {
    const t = process.hrtime.bigint();
    const res = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-amz-json-1.1',
        'x-amz-target': 'ElasticMapReduce.DescribeCluster',
        // as check-status, so the round trip includes the authorization every function's call gets
        authorization: `AWS4-HMAC-SHA256 Credential=${accessKeyOf('check-status')}/20261202/${REGION}/elasticmapreduce/aws4_request, SignedHeaders=host, Signature=0`,
      },
      body: JSON.stringify({ ClusterId: clusterId }),
    });
    await res.text();
    times.push(ms(process.hrtime.bigint() - t));
  }
  return median(times);
}

// Under the deployed IAM, as on AWS: each function signs with its own role's key.
const emulator = await new Emulator().start();
const iam = stackIam();
await emulator.setIam(iam);
const envOf = (name) => ({ ...functionEnv(name, iam.parameters), AWS_ENDPOINT_URL_EMR: emulator.url, RUST_LOG: 'warn' });
const results = [];
let clusterId;
try {
  // a cluster for the functions that need one
  const setup = new LambdaFunction('launch-cluster', extract('launch-cluster').binary, envOf('launch-cluster'));
  await setup.start();
  const run = { key: 'bench-setup', executionArn: executionArn('up', 'bench-setup') };
  clusterId = (await setup.invoke({ cluster, lifecycle: 'persistent', run })).clusterId;
  await setup.stop();
  const emrCallMs = await emulatorCallMs(emulator.url, clusterId);

  for (const name of FUNCTIONS) {
    const { zipBytes, binary } = extract(name);
    const fn = new LambdaFunction(name, binary, envOf(name));
    const t0 = process.hrtime.bigint();
    await fn.start();
    while (!fn.waiting) await sleep(0.2);
    const init = ms(process.hrtime.bigint() - t0);
    const { event, emrCalls } = events(clusterId, 0)[name];
    await fn.invoke(event);
    const cold = ms(process.hrtime.bigint() - t0);
    const warm = [];
    for (let i = 1; i <= WARM; i++) {
      const e = events(clusterId, i)[name];
      const t = process.hrtime.bigint();
      await fn.invoke(e.event);
      warm.push(ms(process.hrtime.bigint() - t));
    }
    const rss = peakRssKiB(fn.process.pid);
    await fn.stop();
    results.push({
      function: name,
      initMs: +init.toFixed(1),
      coldStartMs: +cold.toFixed(1),
      warmMedianMs: +median(warm).toFixed(2),
      warmP95Ms: +p95(warm).toFixed(2),
      warmExclEmrMs: +Math.max(0, median(warm) - emrCalls * emrCallMs).toFixed(2),
      emrCallsPerInvocation: emrCalls,
      peakRssMiB: +(rss / 1024).toFixed(1),
      zipMiB: +(zipBytes / 1048576).toFixed(2),
    });
  }
  const report = {
    measured: new Date().toISOString(),
    how: `release zips from \`make package\` (${process.arch}), run under a local Lambda Runtime API against the EMR emulator on loopback; warm = ${WARM} invocations end to end; "excl. EMR" subtracts ${emrCallMs.toFixed(2)} ms per EMR call (the emulator's median DescribeCluster round trip from Node)`,
    machine: `${(await import('node:os')).cpus().length} cores, Node ${process.version}`,
    results,
  };
  writeFileSync(join(repoRoot, 'bench/results/lambdas.json'), JSON.stringify(report, null, 2) + '\n');
  console.log(`Lambdas (${report.how})\n`);
  const columns = [
    ['function', 'function', 18],
    ['init ms', 'initMs', 8],
    ['cold start ms', 'coldStartMs', 14],
    ['warm median ms', 'warmMedianMs', 15],
    ['warm p95 ms', 'warmP95Ms', 12],
    ['excl. EMR ms', 'warmExclEmrMs', 13],
    ['EMR calls', 'emrCallsPerInvocation', 10],
    ['peak RSS MiB', 'peakRssMiB', 13],
    ['zip MiB', 'zipMiB', 8],
  ];
  console.log(columns.map(([h, , w], i) => (i === 0 ? h.padEnd(w) : h.padStart(w))).join(' '));
  for (const r of results) {
    console.log(columns.map(([, k, w], i) => (i === 0 ? String(r[k]).padEnd(w) : String(r[k]).padStart(w))).join(' '));
  }
} finally {
  await emulator.stop();
}
