// schemas/execution-input.schema.json and the examples in examples/executions/: the examples are
// valid, and the schema refuses what the state machines cannot run.

import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import Ajv2020 from 'ajv/dist/2020.js';
import { examplesDir, repoRoot } from '../lib/paths.mjs';

const schema = JSON.parse(readFileSync(join(repoRoot, 'schemas', 'execution-input.schema.json'), 'utf8'));
const ajv = new Ajv2020({ allErrors: true, strict: true });
ajv.addSchema(schema);
const validatorFor = (def) => ajv.getSchema(`${schema.$id}#/$defs/${def}`);
const DEFS = { 'run-transient': 'runTransient', up: 'up', run: 'run', down: 'down' };

function check(def, input) {
  const validate = validatorFor(def);
  const ok = validate(input);
  return { ok, errors: ajv.errorsText(validate.errors) };
}

const executionsDir = join(examplesDir, 'executions');
const examples = readdirSync(executionsDir).filter((f) => f.endsWith('.json'));

test('there is an example for every state machine, for the console, the CLI and EventBridge Scheduler', () => {
  for (const machine of Object.keys(DEFS)) assert.ok(examples.includes(`${machine}.json`), `${machine}.json`);
  assert.ok(examples.includes('scheduler-target.json'));
  assert.ok(readdirSync(executionsDir).includes('start-execution.sh'));
});

for (const file of examples) {
  test(`examples/executions/${file} is a valid execution input`, () => {
    const doc = JSON.parse(readFileSync(join(executionsDir, file), 'utf8'));
    if (file === 'scheduler-target.json') {
      // A Scheduler target carries the execution input as a JSON string.
      assert.match(doc.Arn, /^arn:aws:states:[a-z0-9-]+:\d{12}:stateMachine:.+run-transient$/);
      const { ok, errors } = check('runTransient', JSON.parse(doc.Input));
      assert.ok(ok, errors);
      return;
    }
    const machine = Object.keys(DEFS).find((m) => file === `${m}.json` || file.startsWith(`${m}-`));
    assert.ok(machine, `${file}: name it after its state machine`);
    const { ok, errors } = check(DEFS[machine], doc);
    assert.ok(ok, errors);
    assert.ok(ajv.validate(schema.$id, doc), 'valid against the schema as a whole');
  });
}

test('the schema refuses inputs the state machines cannot run', () => {
  const cluster = 's3://acme-configs/cluster.json';
  const playbook = 's3://acme-configs/playbook.json';
  assert.ok(check('runTransient', { cluster, playbook }).ok);
  assert.equal(check('runTransient', { cluster }).ok, false, 'run-transient needs a playbook');
  assert.equal(check('runTransient', { cluster, playbook, vars: { n: 3 } }).ok, false, 'vars are strings');
  assert.equal(check('runTransient', { cluster, playbook, options: { maxLaunchAtempts: 2 } }).ok, false, 'a misspelt option');
  assert.equal(check('runTransient', { cluster: 'cluster.json', playbook }).ok, false, 'a bare file name is neither s3:// nor a config');
  assert.ok(check('runTransient', { cluster, playbook, env: { OWNER: 'data' } }).ok);
  for (const name of ['AWS_SECRET_ACCESS_KEY', 'aws_session_token', 'Aws_Region']) {
    assert.equal(check('runTransient', { cluster, playbook, env: { [name]: 'x' } }).ok, false, `env may not set ${name}`);
  }
  assert.equal(check('run', { playbook }).ok, false, 'run needs clusterId');
  assert.equal(check('run', { clusterId: 'cluster-1', playbook }).ok, false, 'a cluster id is j-…');
  assert.ok(check('run', { clusterId: 'j-1ABC', playbook, options: { async: true } }).ok);
  assert.equal(check('down', { clusterId: 'j-1ABC', options: { async: true } }).ok, false, 'async is a run option');
  assert.ok(check('up', { cluster: { schema: 'iglu:com.dataflowrunner.serverless/ClusterConfig/jsonschema/1-2-0', data: {} } }).ok);
  const lock = { name: 'snowplow/enrich', kind: 'soft' };
  assert.ok(check('runTransient', { cluster, playbook, lock }).ok);
  assert.ok(check('runTransient', { cluster, playbook, lock: { name: 'snowplow/enrich' } }).ok, 'kind defaults to hard');
  assert.equal(check('runTransient', { cluster, playbook, lock: { name: 'two words' } }).ok, false, 'a lock name has no whitespace');
  assert.equal(check('runTransient', { cluster, playbook, lock: { name: 'x', kind: 'exclusive' } }).ok, false, 'hard or soft');
  assert.equal(check('runTransient', { cluster, playbook, lock: 'snowplow/enrich' }).ok, false, 'an object');
  assert.ok(check('run', { clusterId: 'j-1ABC', playbook, lock }).ok);
  assert.equal(check('run', { clusterId: 'j-1ABC', playbook, lock, options: { async: true } }).ok, false, 'a lock is refused with async');
  assert.equal(check('down', { clusterId: 'j-1ABC', lock }).ok, false, 'down takes no lock');
});
