// The dataflow-runner CLI as a user runs it: the real binary, its real aws-sdk-sfn client talking the AWS JSON
// protocol to a local Step Functions endpoint (sfn-server.mjs) in front of the real definitions, the real function
// binaries and the EMR emulator under the deployed IAM.

import { spawn } from 'node:child_process';
import { binary } from './paths.mjs';
import { StepFunctionsServer } from './sfn-server.mjs';
import { Environment } from './harness.mjs';

/**
 * Runs the CLI against the local stack; resolves with its exit code and output.
 * env: variables over the defaults (a user's static keys, the local endpoints); a variable set to null is left out.
 */
export function cli(server, args, { env = {}, signalAfterMs, command } = {}) {
  const vars = {
    PATH: process.env.PATH,
    AWS_ENDPOINT_URL_SFN: server?.url ?? 'http://127.0.0.1:9',
    AWS_ENDPOINT_URL_S3: server?.env.moto?.url ?? 'http://127.0.0.1:9',
    // The stack's tables (report reads the costs of stopped runs from the wait table).
    AWS_ENDPOINT_URL_DYNAMODB: server?.env.moto?.url ?? 'http://127.0.0.1:9',
    AWS_REGION: 'eu-west-1',
    AWS_ACCESS_KEY_ID: 'AKIDUSER',
    AWS_SECRET_ACCESS_KEY: 'user-secret',
    AWS_EC2_METADATA_DISABLED: 'true',
    DATAFLOW_RUNNER_POLL_SECONDS: '0.1',
    DATAFLOW_RUNNER_NOW: '2026-12-02T03:00:00Z',
    ...env,
  };
  return new Promise((resolve) => {
    const child = spawn(command ?? binary('dataflow-runner'), args, {
      env: Object.fromEntries(Object.entries(vars).filter(([, v]) => v !== null)),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    if (signalAfterMs) setTimeout(() => child.kill('SIGINT'), signalAfterMs);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Runs `fn(server, env)` with a fresh environment behind a local Step Functions endpoint, always stopping both. */
export async function withStack(options, fn, serverOptions) {
  const env = await Environment.start(options);
  try {
    const server = await new StepFunctionsServer(env, serverOptions).start();
    try {
      await fn(server, env);
    } finally {
      await server.idle();
      await server.stop();
    }
  } finally {
    await env.stop();
  }
}
