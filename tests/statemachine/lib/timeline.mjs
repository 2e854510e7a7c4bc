// A readable account of one execution: what each state did, in virtual time, with the quiet polls
// folded, then the steps' outcomes.

export function clock(seconds) {
  const s = Math.round(seconds);
  const days = Math.floor(s / 86400);
  const hh = String(Math.floor((s % 86400) / 3600)).padStart(2, '0');
  const mm = String(Math.floor((s % 3600) / 60)).padStart(2, '0');
  const ss = String(s % 60).padStart(2, '0');
  return days ? `${days}d ${hh}:${mm}:${ss}` : `${hh}:${mm}:${ss}`;
}

export function duration(seconds) {
  if (seconds === null || seconds === undefined) return '';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

function stepSummary(steps) {
  if (!steps?.length) return '';
  const counts = {};
  for (const s of steps) counts[s.state] = (counts[s.state] ?? 0) + 1;
  const running = steps.find((s) => s.state === 'RUNNING');
  const parts = Object.entries(counts).map(([state, n]) => `${n} ${state}`);
  return `steps: ${parts.join(', ')}${running ? ` (running "${running.name}")` : ''}`;
}

/** A wait for EMR's events (a callback Task): how long it lasted and how it ended. */
function describeWait(inv, waits) {
  const w = waits.find((x) => x.token === inv.token);
  if (!w) return 'waiting for EMR\'s events';
  const how = {
    succeeded: `answered by ${w.answeredBy}`,
    'timed-out': `no event within its backstop (${duration(w.timeoutSeconds)}): one check`,
    failed: `failed: ${w.error?.name ?? ''}`,
    'invocation-failed': `✗ ${w.error?.name ?? 'the registration failed'}`,
    'execution-ended': 'the execution ended',
  }[w.outcome] ?? w.outcome;
  return `waited ${duration(w.waitedSeconds)} for EMR's events → ${how}`;
}

function describeInvocation(inv, waits = []) {
  if (inv.integration === 'callback' && !inv.error) return describeWait(inv, waits);
  if (inv.error) return `✗ ${inv.error.name}: ${inv.error.message.split('\n')[0]}`;
  const o = inv.output ?? {};
  switch (inv.fn) {
    case 'launch-cluster':
      return o.alreadyLaunched
        ? `found cluster ${o.clusterId} "${o.clusterName}" this run already launched (attempt ${inv.input.run.attempt})`
        : `launched cluster ${o.clusterId} "${o.clusterName}" (attempt ${inv.input.run.attempt})`;
    case 'add-steps':
      return `${o.alreadyAdded ? 'found' : 'added'} ${o.stepIds.length} steps on ${o.clusterId}`;
    case 'terminate-cluster':
      if (o.terminated?.length) return `terminated ${o.terminated.join(', ')}`;
      if (o.alreadyTerminated?.length) return `${o.alreadyTerminated.join(', ')} already ending`;
      return 'no cluster to terminate';
    case 'check-status': {
      const reason = o.reason?.code ? ` (${o.reason.code})` : '';
      const failure = o.error ? ` → ${o.error.name}` : '';
      const steps = o.stepsListed ? ` · ${stepSummary(o.steps)}` : '';
      return `cluster ${o.clusterState}${reason}, ${o.phase}${failure}${steps} · next check in ${o.nextPollSeconds}s`;
    }
    default:
      return '';
  }
}

/** Lines describing the execution; polls whose answer did not change are folded. */
export function timeline(report) {
  const lines = [];
  const pending = { count: 0, first: null, last: null, intervals: [] };
  const flush = () => {
    if (pending.count === 0) return;
    const iv = pending.intervals;
    const spread = iv.length ? ` every ${duration(Math.min(...iv))} → ${duration(Math.max(...iv))}` : '';
    lines.push(`  ${' '.repeat(10)}  ${''.padEnd(30)}  … ${pending.count} more check${pending.count > 1 ? 's' : ''}, nothing changed (${clock(pending.first)} → ${clock(pending.last)}${spread})`);
    pending.count = 0;
    pending.intervals = [];
  };
  const row = (at, state, text) => lines.push(`  ${clock(at).padStart(10)}  ${state.padEnd(30)}  ${text}`);
  const invocations = [...report.invocations];
  let previousCheck = null;
  for (const e of report.events) {
    const isTask = e.state?.type === 'Task';
    if (!isTask && e.type === 'StateRetried') continue;
    if (e.type !== 'StateEntered' && !(isTask && e.type === 'StateRetried')) continue;
    const { name, type } = e.state;
    if (isTask) {
      // one invocation per attempt: the first on entering the state, one more per retry
      const inv = invocations.shift();
      if (!inv) continue;
      const text = (e.type === 'StateRetried' ? 'retry: ' : '') + describeInvocation(inv, report.callbackWaits ?? []);
      if (inv.fn === 'check-status' && !inv.error && inv.integration !== 'callback') {
        const key = `${inv.output.clusterState}|${inv.output.phase}|${inv.output.stepsListed ? JSON.stringify(inv.output.steps.map((s) => s.state)) : ''}`;
        if (previousCheck && key === previousCheck.key && !inv.output.finished) {
          if (pending.count === 0) pending.first = inv.at;
          pending.count += 1;
          pending.last = inv.at;
          pending.intervals.push(inv.at - previousCheck.at);
          previousCheck = { key, at: inv.at };
          continue;
        }
        previousCheck = { key, at: inv.at };
      }
      flush();
      row(inv.at, name, text);
      continue;
    }
    if (type === 'Wait' && name !== 'Wait for the next check') {
      flush();
      row(e.at, name, `${e.waitSeconds}s`);
      continue;
    }
    if (['Succeed', 'Fail'].includes(type) || /^(Prepare a relaunch|Describe|Report)/.test(name)) {
      flush();
      row(e.at, name, type === 'Fail' ? `✗ ${report.error}` : type === 'Succeed' ? '✓' : '');
    }
  }
  flush();
  return lines;
}

/** The steps as the last poll (or the output) saw them. */
export function lastSteps(report) {
  if (report.output?.steps) return report.output.steps;
  const checks = report.invocations.filter((i) => i.fn === 'check-status' && i.output?.stepsListed && i.integration !== 'callback');
  return checks.at(-1)?.output.steps ?? [];
}

export function stepTable(steps) {
  const width = Math.max(4, ...steps.map((s) => s.name.length));
  const time = (t) => (t ? t.slice(11, 19) : '--:--:--');
  const lines = steps.map(
    (s) => `  ${s.name.padEnd(width)}  ${s.state.padEnd(11)}  ${time(s.start)} → ${time(s.end)}  ${duration(s.durationSeconds).padStart(7)}`,
  );
  for (const s of steps) {
    if (s.failure) {
      lines.push(`  ${''.padEnd(width)}  ${s.name}: ${s.failure.reason ?? ''}: ${s.failure.message ?? ''}`);
      if (s.failure.logFile) lines.push(`  ${''.padEnd(width)}  log: ${s.failure.logFile}`);
    }
  }
  return lines;
}
