// Runs after `npm ci` / `npm install` (package.json "postinstall"). Fixes, each where the interpreter differs from
// Step Functions in a way the tests can see, or lacks what Step Functions has:
//
// 1. States.JsonMerge merges into its first argument in place (Object.assign(obj1, obj2)). On Step Functions an
//    intrinsic function is pure; here the state data that referenced obj1 changes after the fact, and the state
//    sizes the harness checks against the 256 KiB limit come out wrong. The patch merges into a new object.
// 2. aws-local-stepfunctions 3.0.0 removes every backslash from the string an intrinsic function returns (meant to
//    unescape \' \{ \} in string literals). For States.JsonToString that corrupts the JSON it produces: a message
//    holding a quote or a newline comes out as invalid JSON. Step Functions keeps them, and our Fail states' Cause is
//    exactly such a JSON text. The patch leaves States.JsonToString's result alone.
// 3. The interpreter has no `$$.Task` in the context object, so a callback Task (`.waitForTaskToken`) cannot pass
//    `$$.Task.Token` to its function. The patch asks the run option `overrides.taskContext(stateName, stateInput)`
//    for each attempt of a Task state (before its Parameters are evaluated, so every attempt, retries included,
//    gets its own) and, when it returns an object, makes it `$$.Task` for that attempt.
// 4. A local Task handler gets only the state's effective input, and the interpreter races it against a real-time
//    timer built from TimeoutSeconds / TimeoutSecondsPath, evaluated on that effective input (Step Functions
//    evaluates the path on the state's input). The patch hands the handler the context object as a second argument
//    (where the token is) and, for the states named in the run option `overrides.ownTaskTimeouts`, leaves the
//    timeouts to the handler: the harness enforces a callback Task's TimeoutSeconds and HeartbeatSeconds in
//    virtual time.
// 5. The handler must fail such a Task with States.Timeout as the interpreter's own StatesTimeoutError, the one
//    error States.TaskFailed does not match in Retry and Catch; the patch exports that class.
// 6. A Map state whose iteration failed goes on starting the iterations still queued behind its MaxConcurrency (it
//    stops only those already running). On Step Functions the Map fails and starts no more: a playbook's step after
//    a failed one never runs. The patch starts no iteration once one has failed.
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
  {
    name: 'Task states have $$.Task',
    broken: '      const processedInput = this.processInput(input, context);',
    fixed:
      '      const taskContext = this.stateDefinition.Type === "Task" ? options.runOptions?.overrides?.taskContext?.(this.stateName, input) : void 0;\n' +
      '      if (taskContext !== void 0) context = { ...context, Task: taskContext };\n' +
      '      const processedInput = this.processInput(input, context);',
  },
  {
    name: 'a Task handler gets the context and may own its timeouts',
    broken: 'const executionResult = await taskStateAction.execute(input, context, { overrideFn, awsConfig });',
    fixed:
      'const ownTimeout = Boolean(options.runOptions?.overrides?.ownTaskTimeouts?.includes(stateName));\n' +
      '    const executionResult = await taskStateAction.execute(input, context, { overrideFn, awsConfig, ownTimeout });',
  },
  { name: 'the handler is called with the context', broken: 'options.overrideFn(input)\n', fixed: 'options.overrideFn(input, context)\n' },
  {
    name: 'a Map starts no iteration once one has failed',
    broken: 'processItem(stateMachine, item, input, context, index, options) {\n    const state = this.stateDefinition;',
    fixed:
      'processItem(stateMachine, item, input, context, index, options) {\n    if (this.iterationFailed) return Promise.resolve(void 0);\n    const state = this.stateDefinition;',
  },
  {
    name: 'a failed iteration is noted',
    broken: '    return execution.result;\n  }\n  async execute(input, context, options) {\n    const state = this.stateDefinition;\n    let items = input;',
    fixed:
      '    return execution.result.catch((e) => {\n      this.iterationFailed = true;\n      throw e;\n    });\n  }\n  async execute(input, context, options) {\n    this.iterationFailed = false;\n    const state = this.stateDefinition;\n    let items = input;',
  },
  {
    name: 'no real-time timer for a Task whose handler owns its timeouts',
    broken: '    const timeoutMs = this.getTimeoutMs(input, context);',
    fixed: '    if (options.ownTimeout) return this.buildExecutionResult(await taskPromise);\n    const timeoutMs = this.getTimeoutMs(input, context);',
  },
];
/** Fix 5, per build: what exports the interpreter's StatesTimeoutError. */
const EXPORTS = {
  'build/main.node.esm.js': { broken: 'export {\n  ExecutionAbortedError,', fixed: 'export {\n  StatesTimeoutError,\n  ExecutionAbortedError,' },
  'build/main.node.cjs': {
    broken: '__export(main_exports, {\n  ExecutionAbortedError:',
    fixed: '__export(main_exports, {\n  StatesTimeoutError: () => StatesTimeoutError,\n  ExecutionAbortedError:',
  },
};

for (const file of ['build/main.node.esm.js', 'build/main.node.cjs']) {
  const path = join(packageDir, file);
  let text = readFileSync(path, 'utf8');
  for (const fix of [...FIXES, { name: 'StatesTimeoutError is exported', ...EXPORTS[file] }]) {
    if (text.includes(fix.fixed)) continue;
    if (!text.includes(fix.broken)) {
      console.error(`aws-local-stepfunctions ${version}: ${file} no longer has the code "${fix.name}" fixes; check it and update scripts/patch-interpreter.mjs`);
      process.exit(1);
    }
    text = text.replace(fix.broken, fix.fixed);
  }
  writeFileSync(path, text);
}
console.log(`aws-local-stepfunctions ${version}: ${[...FIXES.map((f) => f.name), 'StatesTimeoutError is exported'].join('; ')}`);
