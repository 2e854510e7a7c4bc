// Runs after `npm ci` / `npm install` (package.json "postinstall"). Two fixes, each where the interpreter differs from
// Step Functions in a way the tests can see:
//
// 1. States.JsonMerge merges into its first argument in place (Object.assign(obj1, obj2)). On Step Functions an
//    intrinsic function is pure; here the state data that referenced obj1 changes after the fact, and the state
//    sizes the harness checks against the 256 KiB limit come out wrong. The patch merges into a new object.
// 2. aws-local-stepfunctions 3.0.0 removes every backslash from the string an intrinsic function returns (meant to
//    unescape \' \{ \} in string literals). For States.JsonToString that corrupts the JSON it produces: a message
//    holding a quote or a newline comes out as invalid JSON. Step Functions keeps them, and our Fail states' Cause is
//    exactly such a JSON text. The patch leaves States.JsonToString's result alone.
//
// The script refuses to go on if the code a fix targets is not there (another version of the package): then check
// whether the fix is still needed.

import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const packageDir = join(dirname(fileURLToPath(import.meta.url)), '..', 'node_modules', 'aws-local-stepfunctions');
const { version } = JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8'));
const FIXES = [
  {
    name: 'States.JsonToString keeps its escapes',
    broken: 'if (typeof result === "string") {\n      result = result.replaceAll("\\\\", "");',
    fixed: 'if (typeof result === "string" && this.funcDefinition.name !== "States.JsonToString") {\n      result = result.replaceAll("\\\\", "");',
  },
  { name: 'States.JsonMerge is pure', broken: 'return Object.assign(obj1, obj2);', fixed: 'return Object.assign({}, obj1, obj2);' },
];

for (const file of ['build/main.node.esm.js', 'build/main.node.cjs']) {
  const path = join(packageDir, file);
  let text = readFileSync(path, 'utf8');
  for (const fix of FIXES) {
    if (text.includes(fix.fixed)) continue;
    if (!text.includes(fix.broken)) {
      console.error(`aws-local-stepfunctions ${version}: ${file} no longer has the code "${fix.name}" fixes; check it and update scripts/patch-interpreter.mjs`);
      process.exit(1);
    }
    text = text.replace(fix.broken, fix.fixed);
  }
  writeFileSync(path, text);
}
console.log(`aws-local-stepfunctions ${version}: ${FIXES.map((f) => f.name).join('; ')}`);
