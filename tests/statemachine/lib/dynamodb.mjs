// The local DynamoDB: moto's, with the stack's lock table created as infra/template.yaml declares it, behind IAM
// (lib/iam-guard.mjs) and one request at a time. DynamoDB applies each conditional write atomically; moto's threaded
// server checks a condition and writes in two steps, so two racing writes could both pass it there. Forwarding one
// request at a time gives back DynamoDB's guarantee, which is what the lock race relies on.

import { IamGuard } from './iam-guard.mjs';
import { ACCOUNT, callJson } from './stack.mjs';

/** The IAM action and resource ARN of a DynamoDB JSON request (`X-Amz-Target: DynamoDB_20120810.<Operation>`). */
export function dynamodbAccess(headers, body, region) {
  const operation = String(headers['x-amz-target'] ?? '').split('.').pop();
  let request = {};
  try {
    request = JSON.parse(body.toString('utf8') || '{}');
  } catch {
    // a body that does not parse is moto's to refuse
  }
  const table = `arn:aws:dynamodb:${region}:${ACCOUNT}:table/${request.TableName ?? '*'}`;
  const resource = request.IndexName ? `${table}/index/${request.IndexName}` : table;
  return { action: `dynamodb:${operation}`, resource, operation, table: request.TableName };
}

export class DynamoDbGuard extends IamGuard {
  constructor({ target, emulator }) {
    super({
      target,
      emulator,
      oneAtATime: true,
      access: (req, body, caller) => dynamodbAccess(req.headers, body, caller.region),
      deny: (res, verdict) => {
        const type = verdict.error === 'UnrecognizedClientException' ? 'UnrecognizedClientException' : 'AccessDeniedException';
        res.writeHead(400, { 'content-type': 'application/x-amz-json-1.0' });
        res.end(JSON.stringify({ __type: `com.amazon.coral.service#${type}`, message: verdict.message ?? 'Access denied' }));
      },
    });
  }
}

/** Calls DynamoDB's JSON API at `url` as `accessKeyId` (the stack's own, by default: creating its table). */
export function dynamodb(url, operation, body, accessKeyId = 'AKIDSTACK') {
  const api = { target: `DynamoDB_20120810.${operation}`, contentType: 'application/x-amz-json-1.0', service: 'dynamodb' };
  return callJson(url, { ...api, accessKeyId }, body);
}

/** Creates the table `resource` describes (the emulator's resolution of the template's AWS::DynamoDB::Table). */
export async function createTable(url, resource) {
  const p = resource.Properties;
  const name = resource.Ref;
  await dynamodb(url, 'CreateTable', {
    TableName: name,
    BillingMode: p.BillingMode,
    AttributeDefinitions: p.AttributeDefinitions,
    KeySchema: p.KeySchema,
    GlobalSecondaryIndexes: p.GlobalSecondaryIndexes,
    SSESpecification: p.SSESpecification ? { Enabled: p.SSESpecification.SSEEnabled } : undefined,
  });
  if (p.TimeToLiveSpecification) {
    await dynamodb(url, 'UpdateTimeToLive', { TableName: name, TimeToLiveSpecification: p.TimeToLiveSpecification });
  }
  if (p.PointInTimeRecoverySpecification) {
    await dynamodb(url, 'UpdateContinuousBackups', { TableName: name, PointInTimeRecoverySpecification: p.PointInTimeRecoverySpecification });
  }
  return name;
}

/** DynamoDB's `{"S": "x"}` / `{"N": "1"}` item as a plain object. */
export function plain(item) {
  if (!item) return item;
  return Object.fromEntries(Object.entries(item).map(([k, v]) => [k, v.S ?? (v.N === undefined ? v : Number(v.N))]));
}
