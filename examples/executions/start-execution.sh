#!/bin/sh
# Start run-transient with the AWS CLI. The execution name is the run's identity: one execution per
# name and state machine for 90 days, so starting the same night twice starts one run, and the
# cluster is tagged with it. Replace the state machine ARN with your stack's (its outputs list it).
set -eu
STATE_MACHINE_ARN=${STATE_MACHINE_ARN:-arn:aws:states:eu-west-1:123456789012:stateMachine:dataflow-runner-run-transient}
cd "$(dirname "$0")"

aws stepfunctions start-execution \
  --state-machine-arn "$STATE_MACHINE_ARN" \
  --name "nightly-enrich-$(date -u +%Y-%m-%d)" \
  --input file://run-transient.json

# Then follow it:
#   aws stepfunctions describe-execution --execution-arn <executionArn printed above> \
#     --query '{status: status, output: output, error: error, cause: cause}'
