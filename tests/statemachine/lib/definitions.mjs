// The state machine definitions exactly as deployed: statemachine/<name>.asl.json with the
// DefinitionSubstitutions filled in (here with local function ARNs).

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { statemachineDir } from './paths.mjs';

/** The EMR state machines: the original's four commands. */
export const MACHINES = ['run-transient', 'up', 'run', 'down'];
/** Every state machine the stack deploys: the EMR ones and EMR Serverless's run-transient, up and down. */
export const DEPLOYED_MACHINES = [...MACHINES, 'serverless-run-transient', 'serverless-up', 'serverless-down'];

/** DefinitionSubstitutions key -> function (binary) name. */
export const SUBSTITUTIONS = {
  LaunchClusterFunctionArn: 'launch-cluster',
  AddStepsFunctionArn: 'add-steps',
  CheckStatusFunctionArn: 'check-status',
  TerminateClusterFunctionArn: 'terminate-cluster',
  LockFunctionArn: 'lock',
};

export const FUNCTIONS = Object.values(SUBSTITUTIONS);

/**
 * Functions no state machine names: EventBridge rules start them (function name -> template logical id). The
 * environment runs each one the template declares.
 */
export const RULE_FUNCTIONS = { 'event-router': 'EventRouterFunction', reconciler: 'ReconcilerFunction' };

/** Step Functions' optimized Lambda integration: request-response, and callback (waits for a task token). */
export const LAMBDA_INVOKE = 'arn:aws:states:::lambda:invoke';
export const LAMBDA_INVOKE_CALLBACK = 'arn:aws:states:::lambda:invoke.waitForTaskToken';

export function functionArn(fn) {
  return `arn:aws:lambda:eu-west-1:123456789012:function:dataflow-runner-${fn}`;
}

/**
 * The function a Lambda ARN (or, as Lambda's Invoke accepts, its name or an ARN with the $LATEST qualifier) names,
 * among the stack's functions; undefined for anything else.
 */
export function functionOfArn(arn) {
  const all = [...FUNCTIONS, ...Object.keys(RULE_FUNCTIONS)];
  const unqualified = typeof arn === 'string' ? arn.replace(/:\$LATEST$/, '') : arn;
  return all.find((fn) => functionArn(fn) === unqualified || `dataflow-runner-${fn}` === unqualified);
}

/** How a Task state's Resource runs: 'function' (a Lambda ARN), 'invoke' (lambda:invoke), 'callback' (….waitForTaskToken). */
export function integrationOf(resource) {
  if (resource === LAMBDA_INVOKE_CALLBACK) return 'callback';
  if (resource === LAMBDA_INVOKE) return 'invoke';
  return 'function';
}

export function definitionPath(machine) {
  return join(statemachineDir, `${machine}.asl.json`);
}

/** The placeholders a definition uses, e.g. ["CheckStatusFunctionArn", …]. */
export function placeholders(text) {
  return [...new Set([...text.matchAll(/\$\{([^}]+)\}/g)].map((m) => m[1]))].sort();
}

/** Parsed definition with every ${…} replaced; unknown placeholders are an error. */
export function loadDefinition(machine) {
  const text = readFileSync(definitionPath(machine), 'utf8');
  const substituted = text.replace(/\$\{([^}]+)\}/g, (whole, key) => {
    const fn = SUBSTITUTIONS[key];
    if (!fn) throw new Error(`${machine}: unknown substitution ${whole}`);
    return functionArn(fn);
  });
  return JSON.parse(substituted);
}

/** [name, state] pairs of a definition's top-level states. */
export function states(definition) {
  return Object.entries(definition.States);
}

/**
 * [name, state] pairs of every state, those of Map iterations and Parallel branches included (state names are
 * unique across a whole definition, as Step Functions requires).
 */
export function allStates(definition) {
  return states(definition).flatMap(([name, s]) => [
    [name, s],
    ...[s.ItemProcessor ?? s.Iterator, ...(s.Branches ?? [])].filter(Boolean).flatMap((inner) => allStates(inner)),
  ]);
}

export function statesOfType(definition, type) {
  return states(definition)
    .filter(([, s]) => s.Type === type)
    .map(([name]) => name);
}
