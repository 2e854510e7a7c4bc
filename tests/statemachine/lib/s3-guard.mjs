// IAM in front of the local S3 (lib/iam-guard.mjs): moto's S3 checks no permissions, so the functions reach it
// through this proxy, which answers 403 AccessDenied as S3 does when the caller's role may not do what it asks.

import { IamGuard } from './iam-guard.mjs';

/** The S3 action and resource ARN of a path-style request. */
export function s3Access(method, url) {
  const path = decodeURIComponent(new URL(url, 'http://x').pathname).replace(/^\//, '');
  const slash = path.indexOf('/');
  const bucket = slash < 0 ? path : path.slice(0, slash);
  const key = slash < 0 ? '' : path.slice(slash + 1);
  if (!key) {
    const action = method === 'GET' ? 's3:ListBucket' : method === 'PUT' ? 's3:CreateBucket' : `s3:${method}Bucket`;
    return { action, resource: `arn:aws:s3:::${bucket}`, bucket, key };
  }
  const action = { GET: 's3:GetObject', HEAD: 's3:GetObject', PUT: 's3:PutObject', DELETE: 's3:DeleteObject' }[method] ?? `s3:${method}`;
  return { action, resource: `arn:aws:s3:::${bucket}/${key}`, bucket, key };
}

export class S3Guard extends IamGuard {
  constructor({ target, emulator }) {
    super({
      target,
      emulator,
      access: (req) => s3Access(req.method, req.url),
      deny: (res, verdict, access) => {
        const code = verdict.error === 'UnrecognizedClientException' ? 'InvalidAccessKeyId' : 'AccessDenied';
        res.writeHead(403, { 'content-type': 'application/xml' });
        res.end(`<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>Access Denied</Message><Resource>${access.resource}</Resource></Error>`);
      },
    });
  }
}
