// `make bench`, first part: each Lambda's release artifact measured under a local Lambda Runtime API
// (the protocol lambda_runtime speaks inside real Lambda), against the local EMR emulator.
//   init        = process start -> its first GET /next (ready for an event), median of 5 starts
//   cold start  = process start -> first invocation answered, median of 5 starts
//   warm        = one invocation, median and p95 of 30, end to end (with its calls to the emulator on loopback),
//                 and the median less those calls at the emulator's measured round trip (an estimate of the
//                 function's own time)
//   EMR calls   = the requests the emulator received during the warm invocations, divided by their number; every
//                 one of them must have succeeded (a call EMR refused would measure the wrong thing)
//   peak RSS    = VmHWM of the process after those invocations
//   zip         = target/lambda/<name>/bootstrap.zip, as deployed
// Every invocation does real work: launch-cluster launches a new cluster (its own name), add-steps adds a new run's
// steps, check-status polls a live cluster, terminate-cluster terminates a fresh cluster each time.
// Beside them, in the same run, the same check-status job written as most teams would: a Python Lambda with boto3
// (bench/python/handler.py), run by awslambdaric, the runtime interface client of the managed Python runtimes,
// under the same Runtime API against the same emulator (`make bench-python` installs it into .tools/).
// Results: bench/results/lambdas.json and a table on stdout.
//   node bench/lambdas.mjs --zips DIR --out FILE --label TEXT   measures the zips under DIR/<name>/bootstrap.zip
//   instead (another build of the functions, e.g. an earlier commit's, for a before/after), without the Python side.
import '../tests/statemachine/lib/polyfill.mjs';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Emulator } from '../tests/statemachine/lib/emulator.mjs';
import { LambdaFunction } from '../tests/statemachine/lib/lambda-runtime.mjs';
import { repoRoot } from '../tests/statemachine/lib/paths.mjs';
import { REGION, accessKeyOf, executionArn, functionEnv, stackIam } from '../tests/statemachine/lib/stack.mjs';

const FUNCTIONS = ['launch-cluster', 'add-steps', 'check-status', 'terminate-cluster'];
const arg = (name) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const ZIPS = arg('--zips') ?? join(repoRoot, 'target', 'lambda');
const OUT = arg('--out') ?? join(repoRoot, 'bench/results/lambdas.json');
const LABEL = arg('--label');
const WITH_PYTHON = arg('--zips') === undefined;
const WARM = 30;
const COLD = 5;
const PYTHON_DIR = join(repoRoot, '.tools', 'python-bench');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const ms = (ns) => Number(ns) / 1e6;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const p95 = (xs) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * 0.95))];
const mib = (bytes) => +(bytes / 1048576).toFixed(2);

function peakRssKiB(pid) {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : null;
}

function extract(name) {
  const zip = join(ZIPS, name, 'bootstrap.zip');
  const dir = mkdtempSync(join(tmpdir(), `${name}-`));
  execFileSync('unzip', ['-q', '-o', zip, '-d', dir]);
  return { zipBytes: statSync(zip).size, command: join(dir, 'bootstrap'), args: [] };
}

function python() {
  if (!existsSync(join(PYTHON_DIR, '.installed'))) throw new Error('the Python comparison is not installed: run `make bench-python`');
  const interpreter = join(PYTHON_DIR, 'venv', 'bin', 'python');
  return {
    zipBytes: statSync(join(PYTHON_DIR, 'package.zip')).size,
    handlerBytes: statSync(join(repoRoot, 'bench', 'python', 'handler.py')).size,
    command: interpreter,
    args: ['-m', 'awslambdaric', 'handler.handler'],
    version: execFileSync(interpreter, ['-c', 'import platform, boto3, awslambdaric; print(platform.python_version(), boto3.__version__, awslambdaric.__version__)'])
      .toString()
      .trim()
      .split(' '),
  };
}

const cluster = JSON.parse(readFileSync(join(repoRoot, 'tests/reference/real/01-dfr-sample-cluster-1-1-0.json'), 'utf8'));
const playbook = JSON.parse(readFileSync(join(repoRoot, 'tests/reference/real/02-dfr-sample-playbook-1-0-1.json'), 'utf8'));

async function emulatorCallMs(url, clusterId, region) {
  const times = [];
  for (let i = 0; i < 50; i++) {
    const t = process.hrtime.bigint();
    const res = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-amz-json-1.1',
        'x-amz-target': 'ElasticMapReduce.DescribeCluster',
        // as check-status, so the round trip includes the authorization every function's call gets
        authorization: `AWS4-HMAC-SHA256 Credential=${accessKeyOf('check-status')}/20261202/${region}/elasticmapreduce/aws4_request, SignedHeaders=host, Signature=0`,
      },
      body: JSON.stringify({ ClusterId: clusterId }),
    });
    await res.text();
    if (!res.ok) throw new Error(`DescribeCluster for the round trip: ${res.status}`);
    times.push(ms(process.hrtime.bigint() - t));
  }
  return median(times);
}

// Under the deployed IAM, as on AWS: each function signs with its own role's key.
const emulator = await new Emulator().start();
const iam = stackIam();
await emulator.setIam(iam);
const envOf = (name) => ({ ...functionEnv(name, iam.parameters), AWS_ENDPOINT_URL_EMR: emulator.url, RUST_LOG: 'warn' });

/** The emulator's requests since the last reset, refusing any that EMR did not answer with success. */
async function emrRequests(what) {
  const requests = await emulator.requests();
  const failed = requests.filter((r) => !(r.status >= 200 && r.status < 300));
  if (failed.length) {
    throw new Error(`${what}: EMR refused ${failed.length} call(s): ${failed.slice(0, 3).map((r) => `${r.operation} ${r.status} ${r.errorType ?? ''}`).join('; ')}`);
  }
  return requests;
}

/** Starts a function COLD times (init and first answer of each: their medians), then invokes the last process WARM
 * times more; events `eventOf(0)` … `eventOf(COLD + WARM - 1)`, each used once. */
async function measure(label, { command, args }, env, eventOf) {
  const inits = [];
  const colds = [];
  let fn;
  let first;
  await emulator.admin('POST', 'requests/reset');
  for (let c = 0; c < COLD; c++) {
    if (fn) await fn.stop();
    fn = new LambdaFunction(label, command, env, { args });
    const t0 = process.hrtime.bigint();
    await fn.start();
    while (!fn.waiting) await sleep(0.2);
    inits.push(ms(process.hrtime.bigint() - t0));
    first = await fn.invoke(eventOf(c));
    colds.push(ms(process.hrtime.bigint() - t0));
  }
  await emrRequests(`${label}, cold`);
  await emulator.admin('POST', 'requests/reset');
  const warm = [];
  let last = first;
  for (let i = COLD; i < COLD + WARM; i++) {
    const event = eventOf(i);
    const t = process.hrtime.bigint();
    last = await fn.invoke(event);
    warm.push(ms(process.hrtime.bigint() - t));
  }
  const requests = await emrRequests(`${label}, warm`);
  const rss = peakRssKiB(fn.process.pid);
  await fn.stop();
  const byOperation = {};
  for (const r of requests) byOperation[r.operation] = (byOperation[r.operation] ?? 0) + 1;
  return {
    initMs: +median(inits).toFixed(1),
    coldStartMs: +median(colds).toFixed(1),
    warmMedianMs: +median(warm).toFixed(2),
    warmP95Ms: +p95(warm).toFixed(2),
    emrCallsPerInvocation: +(requests.length / WARM).toFixed(2),
    emrCallsByOperation: Object.fromEntries(Object.entries(byOperation).map(([op, n]) => [op, +(n / WARM).toFixed(2)])),
    peakRssMiB: +(rss / 1024).toFixed(1),
    firstAnswer: first,
    lastAnswer: last,
  };
}

/** The same check-status job in Python with boto3: same event, same emulator, same Runtime API; same answer. */
async function pythonComparison(ours, checkEvent, emrCallMs) {
  const py = python();
  const pyEnv = { ...envOf('check-status'), PYTHONPATH: join(PYTHON_DIR, 'package'), PYTHONDONTWRITEBYTECODE: '1' };
  const pm = await measure('check-status-python', py, pyEnv, checkEvent);
  // Same job, same answer: the fields that do not depend on the clock's jitter must agree.
  const same = (a) => JSON.stringify([a.phase, a.finished, a.clusterId, a.clusterState, a.steps, a.error]);
  const rustAnswer = await (async () => {
    const fn = new LambdaFunction('check-status', extract('check-status').command, envOf('check-status'));
    await fn.start();
    try {
      return await fn.invoke(checkEvent());
    } finally {
      await fn.stop();
    }
  })();
  if (same(rustAnswer) !== same(pm.lastAnswer)) {
    throw new Error(`the Python check-status answers differently: ${same(pm.lastAnswer)} vs ${same(rustAnswer)}`);
  }
  const { firstAnswer: _f, lastAnswer: _l, ...pyFigures } = pm;
  return {
    what: 'check-status, the same job as a Python Lambda with boto3 (bench/python/handler.py), run by awslambdaric',
    python: py.version[0],
    boto3: py.version[1],
    awslambdaric: py.version[2],
    ...pyFigures,
    warmExclEmrMs: +Math.max(0, pm.warmMedianMs - pm.emrCallsPerInvocation * emrCallMs).toFixed(2),
    zipMiB: mib(py.zipBytes),
    zipNote: 'the handler with boto3 and its dependencies, pinned (bench/python/requirements.txt); the runtime brings awslambdaric',
    handlerOnlyKiB: +(py.handlerBytes / 1024).toFixed(1),
    sameAnswerAsOurs: true,
    ratios: {
      init: +(pm.initMs / ours.initMs).toFixed(1),
      coldStart: +(pm.coldStartMs / ours.coldStartMs).toFixed(1),
      warmMedian: +(pm.warmMedianMs / ours.warmMedianMs).toFixed(1),
      peakRss: +(pm.peakRssMiB / ours.peakRssMiB).toFixed(1),
      zip: +(mib(py.zipBytes) / ours.zipMiB).toFixed(1),
    },
  };
}

const results = [];
let comparison;
try {
  // Clusters, launched as the state machines do: one live cluster that check-status polls, and for add-steps and
  // terminate-cluster a fresh one per invocation (adding steps to one cluster again and again would time ever longer
  // step listings; terminating a terminated cluster would time a no-op). They are launched after launch-cluster is
  // measured, so its idempotency look-up lists as few clusters as a stack's usual day has.
  const setup = new LambdaFunction('launch-cluster', extract('launch-cluster').command, envOf('launch-cluster'));
  await setup.start();
  const launch = async (key) =>
    setup.invoke({ cluster, lifecycle: 'persistent', run: { key, executionArn: executionArn('up', key), startedAt: new Date().toISOString() } });
  const live = await launch('bench-setup');
  const { clusterId, region } = live;
  const emrCallMs = await emulatorCallMs(emulator.url, clusterId, region);
  const fresh = { 'add-steps': [], 'terminate-cluster': [] };

  const checkEvent = () => ({ clusterId, region, mode: 'up' });
  const eventOf = {
    // each invocation a new run with its own cluster name, as distinct jobs have: its idempotency look-up finds none
    'launch-cluster': (i) => ({
      cluster: { ...cluster, data: { ...cluster.data, name: `bench ${i}` } },
      lifecycle: 'persistent',
      run: { key: `bench-${i}`, executionArn: executionArn('up', `bench-${i}`), startedAt: new Date().toISOString() },
    }),
    'add-steps': (i) => {
      const c = fresh['add-steps'][i];
      return { clusterId: c.clusterId, region: c.region, playbook, run: { key: `bench-steps-${i}`, startedAt: new Date().toISOString() } };
    },
    'check-status': checkEvent,
    'terminate-cluster': (i) => ({ clusterId: fresh['terminate-cluster'][i].clusterId, region: fresh['terminate-cluster'][i].region }),
  };

  for (const name of FUNCTIONS) {
    if (name in fresh) {
      for (let i = 0; i < COLD + WARM; i++) fresh[name].push(await launch(`bench-${name}-${i}`));
    }
    const artifact = extract(name);
    const m = await measure(name, artifact, envOf(name), eventOf[name]);
    const { firstAnswer: _first, lastAnswer, ...figures } = m;
    if (name === 'add-steps' && !(lastAnswer.stepIds?.length > 0)) throw new Error(`add-steps added no steps: ${JSON.stringify(lastAnswer)}`);
    if (name === 'terminate-cluster' && !lastAnswer.terminated?.includes(fresh[name][COLD + WARM - 1].clusterId)) {
      throw new Error(`terminate-cluster did not terminate its cluster: ${JSON.stringify(lastAnswer)}`);
    }
    results.push({
      function: name,
      ...figures,
      warmExclEmrMs: +Math.max(0, m.warmMedianMs - m.emrCallsPerInvocation * emrCallMs).toFixed(2),
      zipMiB: mib(artifact.zipBytes),
    });
  }
  await setup.stop();

  if (WITH_PYTHON) {
    comparison = await pythonComparison(results.find((r) => r.function === 'check-status'), checkEvent, emrCallMs);
  }

  const report = {
    measured: new Date().toISOString(),
    how: `release zips from \`make package\` (${process.arch}), run under a local Lambda Runtime API against the EMR emulator on loopback; init and cold start = medians of ${COLD} process starts; warm = ${WARM} invocations end to end, each doing real work (a new cluster launched, a new run's steps added to a fresh cluster, a live cluster polled, a fresh cluster terminated); EMR calls counted by the emulator, every one successful; "excl. EMR" subtracts ${emrCallMs.toFixed(2)} ms per EMR call (the emulator's median DescribeCluster round trip from Node)`,
    machine: `${cpus().length} cores, Node ${process.version}`,
    ...(LABEL ? { label: LABEL } : {}),
    results,
    ...(comparison ? { python: comparison } : {}),
  };
  writeFileSync(OUT, JSON.stringify(report, null, 2) + '\n');
  console.log(`Lambdas (${report.how})\n`);
  const columns = [
    ['function', 'function', 22],
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
  for (const r of [...results, ...(comparison ? [{ ...comparison, function: 'check-status (Python)' }] : [])]) {
    console.log(columns.map(([, k, w], i) => (i === 0 ? String(r[k]).padEnd(w) : String(r[k]).padStart(w))).join(' '));
  }
  if (comparison) console.log(`\nPython / ours: ${JSON.stringify(comparison.ratios)}`);
} finally {
  await emulator.stop();
}
