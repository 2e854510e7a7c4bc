// The deployed stack the local runs stand for: its name, account and region, each function's
// credentials, and the IAM the EMR emulator enforces (the roles' policies from infra/template.yaml; the emulator
// also decides S3 and DynamoDB calls for the guards in front of moto).

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from './paths.mjs';
import { RULE_FUNCTIONS } from './definitions.mjs';
import { declares } from './event-bus.mjs';

export const ACCOUNT = '123456789012';
export const REGION = 'eu-west-1';
/** State machine names and IAM conditions carry it. */
export const STACK = 'dataflow-runner';
/** The bucket the stack's ConfigBucket parameter names locally. */
export const CONFIG_BUCKET = 'acme-dataflow-configs';
export const FUNCTION_LOGICAL_IDS = {
  'launch-cluster': 'LaunchClusterFunction',
  'add-steps': 'AddStepsFunction',
  'check-status': 'CheckStatusFunction',
  'terminate-cluster': 'TerminateClusterFunction',
  lock: 'LockFunction',
};
/** The functions EventBridge rules start, by name: those the template declares get IAM principals and run. */
export const RULE_FUNCTION_LOGICAL_IDS = RULE_FUNCTIONS;
/** Each function signs with its own access key: IAM authorizes its calls as its own role. */
export const accessKeyOf = (fn) => `AKID${fn.replaceAll('-', '').toUpperCase()}`;
/** A secret key and session token that no output, log or request may ever show. */
export const SECRET_ACCESS_KEY = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYzSECRETCANARY';
export const SESSION_TOKEN = 'IQoJb3JpZ2luX2VjECANARYSESSIONTOKEN0123456789';
/** An operator given the stack's LockOperatorPolicy (what `dataflow-runner lock` needs), and nothing else. */
export const LOCK_OPERATOR_ACCESS_KEY = 'AKIDLOCKOPERATOR';
/** Someone else in the account with full EMR access: launches the clusters this stack must not touch. */
export const OPERATOR_ACCESS_KEY = 'AKIDOPERATOR';
const OPERATOR_POLICY = {
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Action: ['elasticmapreduce:*', 'emr-serverless:*', 'iam:PassRole'], Resource: '*' }],
};

/** The execution ARN Step Functions gives an execution of `machine` in the stack. */
export const executionArn = (machine, name) => `arn:aws:states:${REGION}:${ACCOUNT}:execution:${STACK}-${machine}:${name}`;
/** The ARN of the stack's state machine for `machine`. */
export const stateMachineArn = (machine) => `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:${STACK}-${machine}`;

/** The body of the emulator's PUT /_emulator/iam for the stack deployed from `template` with `parameters`. */
export function stackIam({ template, parameters = {} } = {}) {
  const text = readFileSync(template ?? join(repoRoot, 'infra', 'template.yaml'), 'utf8');
  const ruleFunctions = Object.entries(RULE_FUNCTION_LOGICAL_IDS).filter(([, id]) => declares(text, id));
  return {
    template: text,
    stackName: STACK,
    region: REGION,
    parameters: { ConfigBucket: CONFIG_BUCKET, EmrRegions: `${REGION},us-east-1`, ...parameters },
    principals: {
      ...Object.fromEntries([...Object.entries(FUNCTION_LOGICAL_IDS), ...ruleFunctions].map(([fn, id]) => [accessKeyOf(fn), id])),
      [LOCK_OPERATOR_ACCESS_KEY]: 'LockOperatorPolicy',
      [OPERATOR_ACCESS_KEY]: { name: 'operator', policies: [OPERATOR_POLICY] },
    },
  };
}

/** The environment a function gets from the stack (its Globals) and from Lambda (region, credentials). */
export function functionEnv(fn, parameters) {
  return {
    AWS_REGION: REGION,
    AWS_ACCESS_KEY_ID: accessKeyOf(fn),
    AWS_SECRET_ACCESS_KEY: SECRET_ACCESS_KEY,
    AWS_SESSION_TOKEN: SESSION_TOKEN,
    AWS_EC2_METADATA_DISABLED: 'true',
    DFR_CONFIG_BUCKET: parameters.ConfigBucket ?? '',
    DFR_CONFIG_PREFIX: parameters.ConfigPrefix ?? '',
    DFR_EMR_REGIONS: parameters.EmrRegions ?? REGION,
    // The cleanup of a stopped execution looks again once no launch can still be in flight: 75 s on AWS (the
    // launch function's timeout and a margin), 2 real seconds here, where launches answer in milliseconds.
    DFR_LAUNCH_WINDOW_SECONDS: '2',
  };
}

/**
 * Calls an AWS JSON API (`target`: `<Service>.<Operation>`) at `url` as `accessKeyId` in `region`: the request is
 * signed in name only (the local services read the caller from the credential scope and check no signature). An
 * error answer rejects with its `__type` as the error's name.
 */
export async function callJson(url, { target, contentType, service, accessKeyId, region = REGION }, body) {
  const res = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': contentType,
      'x-amz-target': target,
      authorization: `AWS4-HMAC-SHA256 Credential=${accessKeyId}/20261202/${region}/${service}/aws4_request, SignedHeaders=host, Signature=0`,
    },
    body: JSON.stringify(body),
  });
  const json = await res.json();
  if (res.status !== 200) {
    const e = new Error(`${target} as ${accessKeyId}: ${res.status} ${JSON.stringify(json)}`);
    e.name = String(json.__type ?? '').split('#').pop() || 'Error';
    throw e;
  }
  return json;
}
