// The test script ends no file's process early (that lost results: a file's last results were cut off in CI);
// lib/leak-guard.mjs fails a file that stays alive after its tests instead. This runs a file that leaks a timer
// under the guard, as the test script does, and checks the file fails and the guard names what was left open.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const here = (p) => fileURLToPath(new URL(p, import.meta.url));

test('leak-guard: a test file that leaves a handle open fails and names it, its results kept', () => {
  // A nested runner must not think it is a file of this one.
  const { NODE_TEST_CONTEXT: _, ...env } = process.env;
  const run = spawnSync(
    process.execPath,
    ['--test', '--import', here('../lib/leak-guard.mjs'), here('fixtures/leak-guard/leaks.mjs')],
    { encoding: 'utf8', env: { ...env, LEAK_GRACE_MS: '500' } },
  );
  assert.equal(run.status, 1, run.stdout + run.stderr);
  const out = run.stdout + run.stderr;
  assert.match(out, /leak-guard: .*leaks\.mjs still has open handles .*Timeout/);
  // The leaking file's own test passed and was reported before the guard failed the file.
  assert.match(out, /ok \d+ - leaks/);
  assert.match(out, /# fail 1/);
});
