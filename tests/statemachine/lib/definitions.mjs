// The state machine definitions exactly as deployed: statemachine/<name>.asl.json with the
// DefinitionSubstitutions filled in (here with local function ARNs).

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { statemachineDir } from './paths.mjs';

export const MACHINES = ['run-transient', 'up', 'run', 'down'];

/** DefinitionSubstitutions key -> function (binary) name. */
export const SUBSTITUTIONS = {
  LaunchClusterFunctionArn: 'launch-cluster',
  AddStepsFunctionArn: 'add-steps',
  CheckStatusFunctionArn: 'check-status',
  TerminateClusterFunctionArn: 'terminate-cluster',
  LockFunctionArn: 'lock',
};

export const FUNCTIONS = Object.values(SUBSTITUTIONS);

export function functionArn(fn) {
  return `arn:aws:lambda:eu-west-1:123456789012:function:dataflow-runner-${fn}`;
}

export function functionOfArn(arn) {
  return FUNCTIONS.find((fn) => functionArn(fn) === arn);
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

export function statesOfType(definition, type) {
  return states(definition)
    .filter(([, s]) => s.Type === type)
    .map(([name]) => name);
}
