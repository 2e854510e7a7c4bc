// `dataflow-runner plan --estimate` and `validate --estimate` as a user runs them: the real binary, its real
// aws-sdk-pricing and aws-sdk-ec2 clients talking to the EMR emulator's Price List (GetProducts, from
// crates/emr-emulator/fixtures/prices.json) and DescribeSpotPriceHistory. The figures are checked against a hand
// computation from the fixture; prices that cannot be read give one line saying why, and the plan's exit code.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { examplesDir, repoRoot } from '../lib/paths.mjs';
import { cli } from '../lib/cli.mjs';
import { Emulator } from '../lib/emulator.mjs';

const spark = (f) => join(examplesDir, 'spark', f);
const PLAN = ['plan', '--emr-config', spark('cluster.json'), '--vars-file', spark('vars.json'), '--estimate'];
const fixture = JSON.parse(readFileSync(join(repoRoot, 'crates', 'emr-emulator', 'fixtures', 'prices.json'), 'utf8'));

let emulator;
before(async () => {
  emulator = await new Emulator().start();
});
after(async () => {
  await emulator?.stop();
});

/** The CLI with the Price List and EC2 at the emulator (unless `env` says otherwise). */
function run(args, env = {}) {
  return cli(null, args, { env: { AWS_ENDPOINT_URL_PRICING: emulator.url, AWS_ENDPOINT_URL_EC2: emulator.url, ...env } });
}

/** A price of the fixture, in eu-west-1 (the spark example's region). */
const price = {
  ec2: (type) => Number(fixture.instanceTypes.find((t) => t.instanceType === type).ec2['eu-west-1']),
  emr: (type) => Number(fixture.instanceTypes.find((t) => t.instanceType === type).emr['eu-west-1']),
  ebs: (volume) => Number(fixture.ebsVolumes.find((v) => v.volumeApiName === volume).usdPerGbMonth['eu-west-1']),
  spot: (zone, type) => Number(fixture.spot.prices[zone][type][0]), // the newest: in effect since the emulator's start
};
const round4 = (usd) => Math.round(usd * 1e4) / 1e4;

test('plan --estimate prices the spark example per hour: each group at its count, spot from the cheapest zone to the dearest', async () => {
  // examples/spark/cluster.json in eu-west-1 (subnet given, zone not: every zone of the region is compared):
  //   MASTER 1 × m5.xlarge on demand: 0.214 + 0.048 = 0.262
  //   CORE   2 × r5.2xlarge on demand with 200 GiB gp3: 0.564 + 0.126 + 200 × 0.088 / 730 = 0.7141095…; × 2 = 1.4282191…
  //   TASK   4 × r5.2xlarge spot: eu-west-1b 0.1748 + 0.126 = 0.3008, × 4 = 1.2032; eu-west-1a 0.2030 + 0.126 = 0.329, × 4 = 1.316
  //   total 2.8934191… → 2.8934 (eu-west-1b) to 3.0062191… → 3.0062 (eu-west-1a)
  const master = price.ec2('m5.xlarge') + price.emr('m5.xlarge');
  const core = 2 * (price.ec2('r5.2xlarge') + price.emr('r5.2xlarge') + (200 * price.ebs('gp3')) / 730);
  const task = (zone) => 4 * (price.spot(zone, 'r5.2xlarge') + price.emr('r5.2xlarge'));
  const [least, most] = [task('eu-west-1b'), task('eu-west-1a')].sort((a, b) => a - b).map((t) => round4(master + core + t));
  assert.deepEqual([least, most], [2.8934, 3.0062], 'the hand computation above');

  await emulator.admin('POST', 'requests/reset');
  const json = await run([...PLAN, '--output', 'json']);
  assert.equal(json.code, 0, json.stderr);
  const out = JSON.parse(json.stdout);
  assert.equal(out.RunJobFlow.Name, 'nightly-enrich-prod', 'the plan itself, unchanged');
  assert.deepEqual(out.estimate.usdPerHour, { least, most });
  assert.deepEqual(out.estimate.spotZone, { least: 'eu-west-1b', most: 'eu-west-1a' });
  assert.equal(out.estimate.region, 'eu-west-1');
  assert.equal(out.estimate.usdIsLowerBound, false);
  assert.deepEqual(
    out.estimate.lines.map((l) => [l.role, l.market, l.least.instances, l.least.usdPerHour, l.most.usdPerHour]),
    [
      ['MASTER', 'ON_DEMAND', 1, round4(master), round4(master)],
      ['CORE', 'ON_DEMAND', 2, round4(core), round4(core)],
      ['TASK', 'SPOT', 4, round4(task('eu-west-1b')), round4(task('eu-west-1a'))],
    ],
  );
  // One GetProducts per instance type and service and per volume type, from the Price List's region; one spot
  // price history of the cluster's region.
  const asked = await emulator.requests();
  const products = asked.filter((r) => r.operation === 'GetProducts');
  assert.equal(products.length, 2 * 2 + 1);
  assert.ok(products.every((r) => r.region === 'us-east-1' && r.status === 200));
  const spot = asked.filter((r) => r.operation === 'DescribeSpotPriceHistory');
  assert.deepEqual(spot.map((r) => [r.region, r.status]), [['eu-west-1', 200]]);

  const text = await run(PLAN);
  assert.equal(text.code, 0, text.stderr);
  const { estimate, ...plan } = out;
  assert.ok(estimate);
  assert.deepEqual(JSON.parse(text.stdout.slice(0, text.stdout.indexOf('\nPrice per hour'))), plan, 'the plan, then the estimate');
  assert.match(text.stdout, /\nPrice per hour: ≈ \$2\.89 to \$3\.01 \(estimate, prices as of \d{4}-\d\d-\d\d\)\n {2}in eu-west-1, spot at its newest price: the least in eu-west-1b, the most in eu-west-1a\n/);
  assert.match(text.stdout, /\n {2}TASK {3}r5\.2xlarge {5}SPOT {9}4 × \(EC2 \$0\.1748 \+ EMR \$0\.126 \+ EBS \$0\.00\) = \$1\.2032\/h\n {6}to r5\.2xlarge {5}SPOT {9}4 × \(EC2 \$0\.203 \+ EMR \$0\.126 \+ EBS \$0\.00\) = \$1\.316\/h\n/);
  assert.match(text.stdout, /\n {2}leaves out: data transfer; /);

  const validate = await run(['validate', '--emr-config', spark('cluster.json'), '--vars-file', spark('vars.json'), '--estimate']);
  assert.equal(validate.code, 0, validate.stderr);
  assert.match(validate.stdout, /^OK: .*cluster\.json .* valid\nPrice per hour: ≈ \$2\.89 to \$3\.01 /);
});

test('prices that cannot be read (denied, unreachable, no credentials) are one line saying why, and the plan exits 0', async () => {
  const notPriced = (stdout) => {
    const lines = stdout.slice(stdout.indexOf('\nPrice per hour')).trim().split('\n');
    assert.equal(lines.length, 1, stdout);
    return lines[0];
  };
  await emulator.admin('PUT', 'iam', {
    principals: { AKIDUSER: { name: 'analyst', policies: [{ Version: '2012-10-17', Statement: { Effect: 'Allow', Action: 'elasticmapreduce:*', Resource: '*' } }] } },
  });
  try {
    const denied = await run(PLAN);
    assert.equal(denied.code, 0, denied.stderr);
    assert.match(
      notPriced(denied.stdout),
      /^Price per hour: not priced \(estimate; prices could not be read: the AWS Price List could not be read: GetProducts: AccessDeniedException: .*not authorized to perform: pricing:GetProducts/,
    );
    const json = await run([...PLAN, '--output', 'json']);
    assert.equal(json.code, 0, json.stderr);
    assert.match(JSON.parse(json.stdout).estimate.pricesUnavailable, /AccessDeniedException: .*pricing:GetProducts/);
  } finally {
    await emulator.admin('DELETE', 'iam');
  }

  const unreachable = await run(PLAN, { AWS_ENDPOINT_URL_PRICING: 'http://127.0.0.1:9' });
  assert.equal(unreachable.code, 0, unreachable.stderr);
  assert.match(notPriced(unreachable.stdout), /prices could not be read: the AWS Price List could not be read: GetProducts: no usable answer: .*Connection refused/);

  const anonymous = await run(PLAN, { AWS_ACCESS_KEY_ID: null, AWS_SECRET_ACCESS_KEY: null });
  assert.equal(anonymous.code, 0, anonymous.stderr);
  assert.match(notPriced(anonymous.stdout), /prices could not be read: no AWS credentials: .*The CLI signs in as the AWS CLI does: --profile NAME/);

  // --estimate prices a cluster to launch: adding steps to one launches nothing.
  const usage = await run(['plan', '--emr-cluster', 'j-1ABC', '--emr-playbook', spark('playbook.json'), '--vars-file', spark('vars.json'), '--estimate']);
  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /--estimate prices the cluster a ClusterConfig launches: give --emr-config FILE, not --emr-cluster/);
});
