// `make bench`, first part: each Lambda's release artifact (every function of the Makefile's FUNCTIONS) measured under
// a local Lambda Runtime API (the protocol lambda_runtime speaks inside real Lambda), in the local stack the
// state-machine tests use (tests/statemachine/lib/harness.mjs: the EMR emulator, which also serves the tagging API;
// moto's DynamoDB with the template's tables; the local Step Functions endpoint), under the deployed IAM.
//   init        = process start -> its first GET /next (ready for an event), median of 5 starts
//   cold start  = process start -> first invocation answered, median of 5 starts
//   warm        = one invocation, median and p95 of 30, end to end (with its calls to the local services on loopback),
//                 and the median less those calls at each service's measured round trip (an estimate of the
//                 function's own time)
//   calls       = the requests the local services received during the warm invocations (EMR, the tagging API,
//                 DynamoDB, Step Functions), divided by their number; every one of them must have succeeded (a call
//                 AWS refused would measure the wrong thing)
//   peak RSS    = VmHWM of the process after those invocations
//   zip         = target/lambda/<name>/bootstrap.zip, as deployed; the bootstrap inside it by ELF section
// Every invocation does real work (WORK below says what). Beside them, in the same run, the same check-status job
// written as most teams would: a Python Lambda with boto3 (bench/python/handler.py), run by awslambdaric, the runtime
// interface client of the managed Python runtimes, under the same Runtime API against the same emulator
// (`make bench-python` installs it into .tools/).
// Results: bench/results/lambdas.json and a table on stdout.
//   node bench/lambdas.mjs --zips DIR --out FILE --label TEXT   measures the zips under DIR/<name>/bootstrap.zip
//   instead (another build of the functions, e.g. an earlier commit's, for a before/after; the functions it has),
//   without the Python side. The stack's state is set up by this build's zips (target/lambda) where there are some.
import '../tests/statemachine/lib/polyfill.mjs';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { loadDefinition } from '../tests/statemachine/lib/definitions.mjs';
import { dynamodb } from '../tests/statemachine/lib/dynamodb.mjs';
import { Environment, scheduledEvent } from '../tests/statemachine/lib/harness.mjs';
import { LambdaFunction } from '../tests/statemachine/lib/lambda-runtime.mjs';
import { repoRoot } from '../tests/statemachine/lib/paths.mjs';
import { accessKeyOf, callJson, executionArn, stateMachineArn } from '../tests/statemachine/lib/stack.mjs';
import { makefileFunctions } from './readme.mjs';

const FUNCTIONS = makefileFunctions();
/** What each measured invocation does (the results' `how` says it too). */
const WORK = {
  'launch-cluster': 'launches a new run\'s cluster (its own name: the idempotency look-up finds none)',
  'add-steps': 'adds a new run\'s steps to a fresh cluster',
  'check-status': 'polls a live cluster',
  'terminate-cluster': 'terminates a fresh cluster',
  lock: 'acquires a free lock, then releases it, in turn (a run\'s first and last call)',
  'event-router': 'gets EMR\'s TERMINATED event of a transient cluster a run waits on: checks it and answers the run\'s task token',
  reconciler: 'sweeps a quiet stack (a live cluster, a held lock and a waiting run, none to repair) in both of its regions',
};
const arg = (name) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const OWN_ZIPS = join(repoRoot, 'target', 'lambda');
const ZIPS = arg('--zips') ?? OWN_ZIPS;
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
const per = (n, of) => +(n / of).toFixed(2);

function peakRssKiB(pid) {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : null;
}

/**
 * An ELF64 executable's bytes by what they are: code (.text), read-only data (.rodata), the unwinding tables
 * (.eh_frame, .eh_frame_hdr, .gcc_except_table: kept, a panic must reach Step Functions as a named error) and the
 * rest (headers, relocations, the other sections), in MiB.
 */
export function elfSections(path) {
  const b = readFileSync(path);
  if (b.readUInt32BE(0) !== 0x7f454c46 || b[4] !== 2 || b[5] !== 1) throw new Error(`${path}: not a little-endian ELF64 file`);
  const shoff = Number(b.readBigUInt64LE(0x28));
  const shentsize = b.readUInt16LE(0x3a);
  const shnum = b.readUInt16LE(0x3c);
  const shstrndx = b.readUInt16LE(0x3e);
  const header = (i) => {
    const o = shoff + i * shentsize;
    return { name: b.readUInt32LE(o), type: b.readUInt32LE(o + 4), offset: Number(b.readBigUInt64LE(o + 24)), size: Number(b.readBigUInt64LE(o + 32)) };
  };
  const strtab = header(shstrndx);
  const nameOf = (h) => {
    const start = strtab.offset + h.name;
    return b.toString('latin1', start, b.indexOf(0, start));
  };
  const size = {};
  for (let i = 1; i < shnum; i++) {
    const h = header(i);
    if (h.type === 8) continue; // SHT_NOBITS (.bss): takes no bytes of the file
    size[nameOf(h)] = h.size;
  }
  const text = size['.text'] ?? 0;
  const rodata = size['.rodata'] ?? 0;
  const unwind = ['.eh_frame', '.eh_frame_hdr', '.gcc_except_table'].reduce((n, s) => n + (size[s] ?? 0), 0);
  return { binaryMiB: mib(b.length), textMiB: mib(text), rodataMiB: mib(rodata), unwindMiB: mib(unwind), otherMiB: mib(b.length - text - rodata - unwind) };
}

const extracted = {};
/** The zip of `name` under `dir` and its bootstrap, unzipped once. */
function extract(name, dir = ZIPS) {
  const zip = join(dir, name, 'bootstrap.zip');
  if (!extracted[zip]) {
    const to = mkdtempSync(join(tmpdir(), `${name}-`));
    execFileSync('unzip', ['-q', '-o', zip, '-d', to]);
    extracted[zip] = { zipBytes: statSync(zip).size, command: join(to, 'bootstrap'), args: [] };
  }
  return extracted[zip];
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
/** The lease run-transient's definition gives its lock. */
const LEASE_SECONDS = Number(/"leaseSeconds":\s*(\d+)/.exec(JSON.stringify(loadDefinition('run-transient')))[1]);

// The local stack under the deployed IAM, as on AWS: each function signs with its own role's key. Its own functions
// (this build's zips) set up the state the measured invocations need.
const env = await Environment.start({
  functionBinaries: Object.fromEntries(FUNCTIONS.map((f) => [f, extract(f, existsSync(join(OWN_ZIPS, f, 'bootstrap.zip')) ? OWN_ZIPS : ZIPS).command])),
  functionEnv: { RUST_LOG: 'warn' },
  // Measured as deployed: on the machine's clock, with no library preloaded.
  virtualClock: false,
});
const setup = (fn, event) => env.functions[fn].invoke(event);

/** Makes the local Step Functions endpoint answer DescribeExecution for `machine`'s execution `name`: RUNNING. */
function running(machine, name) {
  const arn = executionArn(machine, name);
  env.executions.set(arn, { stateMachineArn: stateMachineArn(machine), name, status: 'RUNNING', startDate: Date.now() / 1000 });
  return arn;
}

/** Where each local service's request log is now (the emulator's is emptied). */
async function mark() {
  await env.emulator.admin('POST', 'requests/reset');
  return { dynamodb: env.dynamodb.requests.length, states: env.statesApi.requests.length };
}

/** Every request the local services received since `since`, refusing any that AWS did not answer with success. */
async function callsSince(since, what) {
  const calls = [
    ...(await env.emulator.requests()).map((r) => ({
      service: r.operation === 'GetResources' ? 'tagging' : 'EMR',
      operation: r.operation,
      ok: r.status >= 200 && r.status < 300,
      why: `${r.status} ${r.errorType ?? ''}`,
    })),
    ...env.dynamodb.requests.slice(since.dynamodb).map((r) => ({ service: 'DynamoDB', operation: r.operation, ok: r.allowed && r.status === 200, why: r.allowed ? r.status : 'denied' })),
    ...env.statesApi.requests.slice(since.states).map((r) => ({ service: 'Step Functions', operation: r.op, ok: r.status === 200, why: r.status })),
  ];
  const failed = calls.filter((c) => !c.ok);
  if (failed.length) {
    throw new Error(`${what}: ${failed.length} call(s) refused: ${failed.slice(0, 3).map((c) => `${c.service} ${c.operation} ${c.why}`).join('; ')}`);
  }
  return calls;
}

/** The median round trip of `call` (one request to a local service), from Node. */
async function roundTripMs(call) {
  const times = [];
  for (let i = 0; i < 50; i++) {
    const t = process.hrtime.bigint();
    await call();
    times.push(ms(process.hrtime.bigint() - t));
  }
  return +median(times).toFixed(2);
}

/** Starts a function COLD times (init and first answer of each: their medians), then invokes the last process WARM
 * times more; events `eventOf(0)` … `eventOf(COLD + WARM - 1)`, each used once. */
async function measure(label, { command, args }, fnEnv, eventOf) {
  const inits = [];
  const colds = [];
  let fn;
  let first;
  let since = await mark();
  for (let c = 0; c < COLD; c++) {
    if (fn) await fn.stop();
    fn = new LambdaFunction(label, command, fnEnv, { args });
    const t0 = process.hrtime.bigint();
    await fn.start();
    while (!fn.waiting) await sleep(0.2);
    inits.push(ms(process.hrtime.bigint() - t0));
    first = await fn.invoke(eventOf(c));
    colds.push(ms(process.hrtime.bigint() - t0));
  }
  await callsSince(since, `${label}, cold`);
  since = await mark();
  const warm = [];
  let last = first;
  for (let i = COLD; i < COLD + WARM; i++) {
    const event = eventOf(i);
    const t = process.hrtime.bigint();
    last = await fn.invoke(event);
    warm.push(ms(process.hrtime.bigint() - t));
  }
  const calls = await callsSince(since, `${label}, warm`);
  const rss = peakRssKiB(fn.process.pid);
  await fn.stop();
  const byService = {};
  const byOperation = {};
  for (const c of calls) {
    byService[c.service] = (byService[c.service] ?? 0) + 1;
    byOperation[`${c.service} ${c.operation}`] = (byOperation[`${c.service} ${c.operation}`] ?? 0) + 1;
  }
  const warmMedianMs = +median(warm).toFixed(2);
  const perService = Object.fromEntries(Object.entries(byService).map(([s, n]) => [s, per(n, WARM)]));
  const unmeasured = Object.keys(perService).filter((s) => roundTrips[s] === undefined);
  if (unmeasured.length) throw new Error(`${label}: calls to ${unmeasured.join(', ')}, whose round trip the bench does not measure`);
  return {
    initMs: +median(inits).toFixed(1),
    coldStartMs: +median(colds).toFixed(1),
    warmMedianMs,
    warmP95Ms: +p95(warm).toFixed(2),
    warmExclCallsMs: +Math.max(0, warmMedianMs - Object.entries(perService).reduce((t, [s, n]) => t + n * roundTrips[s], 0)).toFixed(2),
    callsPerInvocation: per(calls.length, WARM),
    callsByService: perService,
    callsByOperation: Object.fromEntries(Object.entries(byOperation).map(([op, n]) => [op, per(n, WARM)])),
    peakRssMiB: +(rss / 1024).toFixed(1),
    firstAnswer: first,
    lastAnswer: last,
  };
}

/** The same check-status job in Python with boto3: same event, same emulator, same Runtime API; same answer. */
async function pythonComparison(ours, checkEvent) {
  const py = python();
  const pyEnv = { ...(await env.functionEnvironment('check-status')), PYTHONPATH: join(PYTHON_DIR, 'package'), PYTHONDONTWRITEBYTECODE: '1' };
  const pm = await measure('check-status-python', py, pyEnv, checkEvent);
  // Same job, same answer: the fields that do not depend on the clock's jitter must agree.
  const same = (a) => JSON.stringify([a.phase, a.finished, a.clusterId, a.clusterState, a.steps, a.error]);
  const rustAnswer = await setup('check-status', checkEvent());
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

const roundTrips = {};
const results = [];
let comparison;
try {
  const measured = FUNCTIONS.filter((f) => existsSync(join(ZIPS, f, 'bootstrap.zip')));
  const launch = async (key, machine = 'up') =>
    setup('launch-cluster', {
      cluster: { ...cluster, data: { ...cluster.data, name: key } },
      ...(machine === 'run-transient' ? { playbook, lifecycle: 'transient' } : { lifecycle: 'persistent' }),
      run: { key, executionArn: running(machine, key), startedAt: new Date().toISOString() },
    });

  // The stack's usual day: one live cluster of a running `up`, which a run waits on, and a lock a running
  // execution holds.
  const live = await launch('bench-setup');
  const { clusterId, region } = live;
  const liveExecution = executionArn('up', 'bench-setup');
  const waitOn = (c, mode, execution) =>
    setup('check-status', {
      clusterId: c.clusterId,
      region: c.region,
      mode,
      wait: { taskToken: env.tokens.issue({ executionArn: execution, state: "Wait for EMR's events" }).token, execution, checkedAt: null, seconds: 3600 },
    });
  if ((await waitOn(live, 'up', liveExecution)).checked !== false) throw new Error('the live cluster\'s wait was checked: no event came');
  const held = await setup('lock', { action: 'acquire', lock: { name: 'bench/held', kind: 'hard' }, owner: running('run-transient', 'bench-held'), leaseSeconds: LEASE_SECONDS });
  if (!held.acquired) throw new Error(`the held lock: ${JSON.stringify(held)}`);

  // Each service's round trip from Node, with the authorization every function's call gets.
  // EMR and the tagging API in the live cluster's region; Step Functions in the stack's
  const as = (fn, target, contentType, service, inRegion = region) => ({ target, contentType, service, accessKeyId: accessKeyOf(fn), region: inRegion });
  const JSON11 = 'application/x-amz-json-1.1';
  const JSON10 = 'application/x-amz-json-1.0';
  roundTrips.EMR = await roundTripMs(() => callJson(env.emulator.url, as('check-status', 'ElasticMapReduce.DescribeCluster', JSON11, 'elasticmapreduce'), { ClusterId: clusterId }));
  roundTrips.tagging = await roundTripMs(() =>
    callJson(env.emulator.url, as('reconciler', 'ResourceGroupsTaggingAPI_20170126.GetResources', JSON11, 'tagging'), {
      TagFilters: [{ Key: 'dataflow-runner:managed', Values: ['true'] }],
      ResourceTypeFilters: ['elasticmapreduce:cluster'],
    }),
  );
  roundTrips.DynamoDB = await roundTripMs(() =>
    dynamodb(env.dynamodb.url, 'GetItem', { TableName: env.lockTable, Key: { lockName: { S: 'bench/held' } }, ConsistentRead: true }, accessKeyOf('lock')),
  );
  roundTrips['Step Functions'] = await roundTripMs(() =>
    callJson(`${env.statesApi.url}/`, as('reconciler', 'AWSStepFunctions.DescribeExecution', JSON10, 'states', env.iam.region), { executionArn: liveExecution }),
  );

  // Clusters, launched as the state machines do: for add-steps and terminate-cluster a fresh one per invocation
  // (adding steps to one cluster again and again would time ever longer step listings; terminating a terminated
  // cluster would time a no-op), for event-router a transient one per invocation, ended. They are launched after
  // the reconciler and launch-cluster are measured, so that the sweep and launch-cluster's idempotency look-up list
  // as few clusters as a stack's usual day has; event-router comes last, as its clusters' end moves the clock.
  const fresh = { 'add-steps': [], 'terminate-cluster': [] };
  const ended = [];
  const prepare = {
    'add-steps': async () => {
      for (let i = 0; i < COLD + WARM; i++) fresh['add-steps'].push(await launch(`bench-add-steps-${i}`));
    },
    'terminate-cluster': async () => {
      for (let i = 0; i < COLD + WARM; i++) fresh['terminate-cluster'].push(await launch(`bench-terminate-cluster-${i}`));
    },
    'event-router': async () => {
      const transient = [];
      for (let i = 0; i < COLD + WARM; i++) {
        const key = `bench-event-router-${i}`;
        const c = await launch(key, 'run-transient');
        if ((await waitOn(c, 'transient', executionArn('run-transient', key))).checked !== false) throw new Error('a wait was checked: no event came');
        transient.push(c.clusterId);
      }
      // The clusters run their steps and end; the emulator emits EMR's events meanwhile.
      const { clusters } = await env.emulator.admin('GET', 'state');
      const byId = Object.fromEntries(clusters.map((c) => [c.Id, c]));
      if (!transient.every((id) => byId[id])) throw new Error('a transient cluster is missing');
      await env.emulator.advance(6 * 3600);
      const events = (await env.emulator.takeEvents()).map((e) => e.event);
      for (const id of transient) {
        const end = events.find((e) => e['detail-type'] === 'EMR Cluster State Change' && e.detail.clusterId === id && e.detail.state === 'TERMINATED');
        if (!end) throw new Error(`no TERMINATED event for ${id}`);
        ended.push(end);
      }
    },
  };
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
    lock: (i) => {
      const owner = executionArn('run-transient', `bench-lock-${Math.floor(i / 2)}`);
      return i % 2 === 0
        ? { action: 'acquire', lock: { name: 'bench/nightly', kind: 'soft' }, owner, leaseSeconds: LEASE_SECONDS }
        : { action: 'release', lock: { name: 'bench/nightly' }, owner, outcome: 'succeeded' };
    },
    'event-router': (i) => ended[i],
    reconciler: () => scheduledEvent(Date.now() / 1000),
  };
  /** Each function's answer must show it did its work. */
  const worked = {
    'add-steps': (a) => a.stepIds?.length > 0,
    'terminate-cluster': (a) => a.terminated?.includes(fresh['terminate-cluster'][COLD + WARM - 1].clusterId),
    // the last invocation acquires: the lock was free, so the release before it worked
    lock: (a) => a.acquired === true,
    'event-router': (a) => a.delivered === 1,
    reconciler: (a) =>
      a.errors.length === 0 && a.clustersSeen >= 1 && a.waitsSeen >= 1 && ['clustersTerminated', 'waitsAnswered', 'locksReleased', 'locksKept'].every((k) => a[k].length === 0),
  };
  const order = ['reconciler', 'launch-cluster', 'add-steps', 'check-status', 'terminate-cluster', 'lock', 'event-router'];
  if (order.length !== FUNCTIONS.length || !FUNCTIONS.every((f) => order.includes(f))) {
    throw new Error(`the bench knows ${order.join(', ')}; the Makefile's FUNCTIONS are ${FUNCTIONS.join(', ')}: give each one its event`);
  }
  for (const name of order.filter((f) => measured.includes(f))) {
    await prepare[name]?.();
    const artifact = extract(name);
    const m = await measure(name, artifact, await env.functionEnvironment(name), eventOf[name]);
    const { firstAnswer: _first, lastAnswer, ...figures } = m;
    if (worked[name] && !worked[name](lastAnswer)) throw new Error(`${name} did not do its work: ${JSON.stringify(lastAnswer)}`);
    results.push({ function: name, work: WORK[name], ...figures, zipMiB: mib(artifact.zipBytes), bootstrap: elfSections(artifact.command) });
    if (name === 'terminate-cluster' && WITH_PYTHON) {
      // Before event-router moves the clock: the live cluster is polled in the same state as by ours.
      comparison = await pythonComparison(results.find((r) => r.function === 'check-status'), checkEvent);
    }
  }
  results.sort((a, b) => FUNCTIONS.indexOf(a.function) - FUNCTIONS.indexOf(b.function));

  const report = {
    measured: new Date().toISOString(),
    how: `release zips from \`make package\` (${process.arch}), run under a local Lambda Runtime API against the EMR emulator (which also serves the tagging API), moto's DynamoDB and a local Step Functions endpoint on loopback, under the deployed IAM; init and cold start = medians of ${COLD} process starts; warm = ${WARM} invocations end to end, each doing real work (${order.map((f) => `${f} ${WORK[f]}`).join('; ')}); calls counted by the local services, every one successful; "excl. calls" subtracts each call at its service's median round trip from Node (${Object.entries(roundTrips).map(([s, t]) => `${s} ${t} ms`).join(', ')})`,
    machine: `${cpus().length} cores, Node ${process.version}`,
    ...(LABEL ? { label: LABEL } : {}),
    roundTripMs: roundTrips,
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
    ['excl. calls ms', 'warmExclCallsMs', 15],
    ['calls', 'callsPerInvocation', 6],
    ['peak RSS MiB', 'peakRssMiB', 13],
    ['zip MiB', 'zipMiB', 8],
  ];
  console.log(columns.map(([h, , w], i) => (i === 0 ? h.padEnd(w) : h.padStart(w))).join(' '));
  for (const r of [...results, ...(comparison ? [{ ...comparison, function: 'check-status (Python)' }] : [])]) {
    console.log(columns.map(([, k, w], i) => (i === 0 ? String(r[k]).padEnd(w) : String(r[k]).padStart(w))).join(' '));
  }
  if (comparison) console.log(`\nPython / ours: ${JSON.stringify(comparison.ratios)}`);
} finally {
  await env.stop();
  for (const { command } of Object.values(extracted)) rmSync(dirname(command), { recursive: true, force: true });
}
