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

/** A property's schema, its `$ref` into the schema's own `$defs` followed. */
const resolve = (s) => (s.$ref ? schema.$defs[s.$ref.replace('#/$defs/', '')] : s);

/** statemachine/README.md's options table: for each row, its options, machines, default cell and whole text. */
function optionRows() {
  const readme = readFileSync(join(repoRoot, 'statemachine', 'README.md'), 'utf8');
  const table = readme.split('| option | machines | default | meaning |')[1].split('\n\n')[0];
  return table.split('\n').slice(2).filter((l) => l.startsWith('|')).map((line) => {
    const [keys, machines, defaults] = line.split(' | ').map((c) => c.replace(/^\| /, ''));
    const ticked = (text) => [...text.matchAll(/`([^`]+)`/g)].map((m) => m[1]);
    return {
      line,
      keys: ticked(keys),
      machines: machines === 'all' ? Object.keys(DEFS) : machines.split(', '),
      defaults,
    };
  });
}

test("statemachine/README.md's table of options states the schema's defaults and bounds, one row per option and machine", () => {
  const seen = new Set();
  for (const { line, keys, machines, defaults } of optionRows()) {
    const [given, note = ''] = defaults.split(/ \((.*)\)$/);
    const values = [...given.matchAll(/`([^`]+)`/g)].map((m) => JSON.parse(m[1]));
    for (const machine of machines) {
      assert.ok(DEFS[machine], `${line}: ${machine} is a state machine`);
      keys.forEach((key, i) => {
        const property = schema.$defs[DEFS[machine]].properties.options.properties[key];
        assert.ok(property, `${line}: ${machine} has no option ${key}`);
        const option = resolve(property);
        // A default the table says in words (the functions' region) is the schema's null.
        assert.deepEqual(values.length ? values[i] : null, option.default, `${line}: ${machine}'s ${key}`);
        assert.ok(!seen.has(`${machine} ${key}`), `${machine} ${key} has one row`);
        seen.add(`${machine} ${key}`);
      });
      const last = resolve(schema.$defs[DEFS[machine]].properties.options.properties[keys.at(-1)]);
      for (const [, most] of line.matchAll(/at most `?(\d+)`?/g)) assert.equal(Number(most), last.maximum, `${line}: at most`);
      const days = /^(\d+) days \+ (\d+) hours?$/.exec(note);
      if (days) assert.equal(Number(days[1]) * 86400 + Number(days[2]) * 3600, last.default, `${line}: ${note}`);
      else if (note && !/^at most \d+$/.test(note)) assert.doesNotMatch(note, /\d/, `${line}: a number the test does not check`);
    }
  }
  const all = Object.entries(DEFS).flatMap(([machine, def]) => Object.keys(schema.$defs[def].properties.options.properties).map((key) => `${machine} ${key}`));
  assert.deepEqual([...seen].sort(), all.sort(), 'every option of every machine is in the table');
});
