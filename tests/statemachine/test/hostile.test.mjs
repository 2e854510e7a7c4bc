// The hostile-input corpus (tests/hostile/<case>/): every way an execution input, a config, a var, a
// file or an env entry could try to read a function's credentials or environment, another bucket,
// another region's or a foreign cluster, or smuggle a reserved tag. Each case runs through the real
// definitions and binaries under the deployed IAM, and must end with its named error, launch nothing,
// write nothing to EMR, touch no foreign resource, and show no secret anywhere: not in the output, the
// cause, any function's answer or log line, any EMR request, or any S3 request.

import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { CONFIG_BUCKET, SECRET_ACCESS_KEY, SESSION_TOKEN } from '../lib/harness.mjs';
import { accessKeyOf } from '../lib/stack.mjs';
import { repoRoot } from '../lib/paths.mjs';
import { assertNothingLeftRunning, withEnvironment } from './support.mjs';

const corpus = join(repoRoot, 'tests', 'hostile');
const base = (file) => readFileSync(join(corpus, 'base', file), 'utf8');
const cases = readdirSync(corpus).filter((d) => /^\d\d-/.test(d)).sort();
const WRITES = ['RunJobFlow', 'AddJobFlowSteps', 'TerminateJobFlows', 'CancelSteps', 'AddTags', 'RemoveTags', 'SetTerminationProtection'];

test('the corpus holds at least 15 cases, each with a description and an expected error', () => {
  assert.ok(cases.length >= 15, `${cases.length} cases`);
  for (const c of cases) {
    const spec = JSON.parse(readFileSync(join(corpus, c, 'case.json'), 'utf8'));
    assert.ok(spec.description && spec.machine && spec.expect?.error, c);
  }
});

/** A cluster someone else launched: no tags of this stack's (or `tags`), in `region`. */
async function foreignCluster(env, { region, tags = {} }) {
  const { JobFlowId } = await env.emrAsOperator(
    'RunJobFlow',
    {
      Name: 'someone-elses-cluster',
      ReleaseLabel: 'emr-7.5.0',
      Instances: { KeepJobFlowAliveWhenNoSteps: true, InstanceGroups: [{ Name: 'Master', InstanceRole: 'MASTER', InstanceType: 'm5.xlarge', InstanceCount: 1 }] },
      JobFlowRole: 'EMR_EC2_DefaultRole',
      ServiceRole: 'EMR_DefaultRole',
      Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })),
    },
    region,
  );
  return JobFlowId;
}

function substitute(value, names) {
  let text = JSON.stringify(value);
  for (const [k, v] of Object.entries(names)) text = text.replaceAll(k, v);
  return JSON.parse(text);
}

for (const name of cases) {
  const dir = join(corpus, name);
  const spec = JSON.parse(readFileSync(join(dir, 'case.json'), 'utf8'));
  const own = (file) => (existsSync(join(dir, file)) ? readFileSync(join(dir, file), 'utf8') : base(file));

  test(`hostile ${name}: ${spec.description}`, async () => {
    await withEnvironment({ s3: spec.s3 ?? false, parameters: spec.parameters }, async (env) => {
      if (env.moto) await env.moto.createBucket(CONFIG_BUCKET);
      const names = { $PROCESS_PATH: process.env.PATH };
      if (spec.foreignCluster) names.$FOREIGN_CLUSTER = await foreignCluster(env, spec.foreignCluster);
      if (spec.ownCluster) {
        const up = await env.run('up', { cluster: base('cluster.json'), vars: { case: name.slice(0, 2) } });
        assert.equal(up.status, 'SUCCEEDED');
        names.$OWN_CLUSTER = up.output.clusterId;
      }
      const before = await env.clusters();
      await env.emulator.admin('POST', 'requests/reset');

      const input = { vars: { case: name.slice(0, 2) }, ...substitute(spec.input ?? {}, names) };
      if (['run-transient', 'up'].includes(spec.machine)) input.cluster ??= own('cluster.json');
      if (['run-transient', 'run'].includes(spec.machine)) input.playbook ??= own('playbook.json');
      const report = await env.run(spec.machine, input);

      const expect = substitute(spec.expect, names);
      assert.equal(report.status, 'FAILED', `${name}: ${report.status} ${JSON.stringify(report.output)}`);
      assert.equal(report.error, expect.error, `${name}: ${report.cause}`);
      // The cause is JSON; its message is the function's error text.
      const said = report.causeJson?.message ?? report.cause;
      for (const fragment of expect.causeIncludes ?? []) assert.ok(said.includes(fragment), `${name}: cause lacks ${fragment}: ${said}`);

      // Nothing launched, nothing written, nothing foreign touched.
      assert.deepEqual(report.launchedClusterIds, [], name);
      const requests = await env.emulator.requests();
      const writes = requests.filter((r) => WRITES.includes(r.operation) && r.status === 200);
      assert.deepEqual(writes, [], `${name}: EMR writes`);
      if (expect.error === 'InvalidConfig') {
        // The stack's cleanup of the failed execution still reads (ListClusters), as it does on AWS.
        const byRun = requests.filter((r) => r.accessKeyId !== accessKeyOf('terminate-cluster'));
        assert.deepEqual(byRun.map((r) => r.operation), [], `${name}: refused before any EMR call`);
      }
      const after = await env.clusters();
      assert.equal(after.length, before.length, `${name}: a cluster was created`);
      for (const c of before) {
        const now = after.find((a) => a.Id === c.Id);
        assert.equal(now.Steps.length, c.Steps.length, `${name}: steps added to ${c.Id}`);
        assert.equal(now.Status.State.startsWith('TERMINAT'), c.Status.State.startsWith('TERMINAT'), `${name}: ${c.Id} terminated`);
      }
      await assertNothingLeftRunning(env, report);
      for (const resource of spec.foreign ?? []) {
        assert.ok(!(env.s3?.requests ?? []).some((r) => r.url.includes(resource)), `${name}: S3 was asked for ${resource}`);
      }

      // No secret anywhere.
      const leaks = [SECRET_ACCESS_KEY, SESSION_TOKEN, ...substitute(spec.leaks ?? [], names)];
      const seen = {
        output: JSON.stringify(report.output ?? null),
        cause: report.cause ?? '',
        invocations: JSON.stringify(report.invocations.map((i) => [i.output, i.error])),
        logs: Object.values(env.functions).flatMap((f) => f.logLines).join('\n'),
        emrRequests: JSON.stringify(requests),
        s3Requests: JSON.stringify(env.s3?.requests ?? []),
      };
      for (const secret of leaks) {
        for (const [where, text] of Object.entries(seen)) {
          assert.ok(!text.includes(secret), `${name}: a secret (${secret.slice(0, 4)}…) appears in the ${where}`);
        }
      }
    });
  });
}
