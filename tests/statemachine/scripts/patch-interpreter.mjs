// Runs after `npm ci` / `npm install` (package.json "postinstall").
//
// aws-local-stepfunctions 3.0.0 removes every backslash from the string an intrinsic function
// returns (meant to unescape \' \{ \} in string literals). For States.JsonToString that corrupts
// the JSON it produces: a message holding a quote or a newline comes out as invalid JSON. Step
// Functions keeps them, and our Fail states' Cause is exactly such a JSON text. This makes the
// interpreter leave States.JsonToString's result alone, and refuses to go on if the code it fixes
// is not there (another version of the package): then check whether the fix is still needed.

import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const packageDir = join(dirname(fileURLToPath(import.meta.url)), '..', 'node_modules', 'aws-local-stepfunctions');
const { version } = JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8'));
const BROKEN = 'if (typeof result === "string") {\n      result = result.replaceAll("\\\\", "");';
const FIXED =
  'if (typeof result === "string" && this.funcDefinition.name !== "States.JsonToString") {\n      result = result.replaceAll("\\\\", "");';

let patched = 0;
for (const file of ['build/main.node.esm.js', 'build/main.node.cjs']) {
  const path = join(packageDir, file);
  const text = readFileSync(path, 'utf8');
  if (text.includes(FIXED)) {
    patched += 1;
    continue;
  }
  if (!text.includes(BROKEN)) {
    console.error(`aws-local-stepfunctions ${version}: ${file} no longer has the code this patch fixes; check States.JsonToString escaping and update scripts/patch-interpreter.mjs`);
    process.exit(1);
  }
  writeFileSync(path, text.replace(BROKEN, FIXED));
  patched += 1;
}
console.log(`aws-local-stepfunctions ${version}: States.JsonToString keeps its escapes (${patched} build files)`);
