// The CLI signs in the way people's machines are set up: a profile of ~/.aws/config with IAM Identity Center (SSO)
// or credential_process, chosen by --profile or AWS_PROFILE, with no AWS_ACCESS_KEY_ID in the environment. The real
// binary resolves the credentials with the AWS SDK's own providers; the local Step Functions endpoint records which
// access key signed each call, and a local IAM Identity Center portal answers GetRoleCredentials as AWS does.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { cli, withStack } from '../lib/cli.mjs';
import { examplesDir } from '../lib/paths.mjs';

const spark = (f) => join(examplesDir, 'spark', f);
const CONFIGS = ['--emr-config', spark('cluster.json'), '--emr-playbook', spark('playbook.json'), '--vars-file', spark('vars.json')];

/** A home directory with this ~/.aws/config; the environment a user of it has (no static keys). */
function home(config) {
  const dir = mkdtempSync(join(tmpdir(), 'dfr-home-'));
  mkdirSync(join(dir, '.aws', 'sso', 'cache'), { recursive: true });
  writeFileSync(join(dir, '.aws', 'config'), config);
  const env = { HOME: dir, AWS_ACCESS_KEY_ID: null, AWS_SECRET_ACCESS_KEY: null, AWS_REGION: null };
  return { dir, env };
}

/** A credential_process program that prints these credentials in the documented format (Version 1). */
function credentialProcess(dir, accessKeyId) {
  const path = join(dir, 'credentials.mjs');
  const creds = { Version: 1, AccessKeyId: accessKeyId, SecretAccessKey: 'process-secret', SessionToken: 'process-session' };
  writeFileSync(path, `process.stdout.write(${JSON.stringify(JSON.stringify(creds))});\n`);
  return `${process.execPath} ${path}`;
}

test('credentials: a credential_process profile chosen with --profile signs every call of a run-transient that succeeds', async () => {
  const { dir, env } = home('');
  writeFileSync(
    join(dir, '.aws', 'config'),
    `[profile pipelines]\nregion = eu-west-1\ncredential_process = ${credentialProcess(dir, 'AKIDPROCESS')}\n`,
  );
  await withStack({}, async (server) => {
    const r = await cli(server, ['run-transient', ...CONFIGS, '--profile', 'pipelines', '--name', 'with-process'], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.ok(server.calls.includes('StartExecution'), server.calls.join(','));
    assert.deepEqual([...new Set(server.callers)], ['AKIDPROCESS']);
  });
});

test('credentials: a credential_process that fails stops the CLI before any call, naming the profile problem', async () => {
  const { dir, env } = home('');
  writeFileSync(join(dir, 'fail.mjs'), "process.stderr.write('token expired, run the login again');\nprocess.exit(3);\n");
  writeFileSync(
    join(dir, '.aws', 'config'),
    `[profile broken]\nregion = eu-west-1\ncredential_process = ${process.execPath} ${join(dir, 'fail.mjs')}\n`,
  );
  await withStack({}, async (server) => {
    const r = await cli(server, ['list', '--profile', 'broken'], { env });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /credential/i);
    assert.deepEqual(server.callers, [], 'no unsigned or anonymous call reached Step Functions');
  });
});

/** A local IAM Identity Center portal: GetRoleCredentials (GET /federation/credentials) for one token. */
async function ssoPortal({ token, accountId, roleName, accessKeyId }) {
  const seen = [];
  const server = createServer((req, res) => {
    const url = new URL(req.url, 'http://portal');
    const call = { path: url.pathname, token: req.headers['x-amz-sso_bearer_token'], account: url.searchParams.get('account_id'), role: url.searchParams.get('role_name') };
    seen.push(call);
    const ok = call.path === '/federation/credentials' && call.token === token && call.account === accountId && call.role === roleName;
    res.writeHead(ok ? 200 : 401, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify(
        ok
          ? { roleCredentials: { accessKeyId, secretAccessKey: 'sso-secret', sessionToken: 'sso-session', expiration: Date.parse('2099-01-01T00:00:00Z') } }
          : { message: 'Session token not found or invalid' },
      ),
    );
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${server.address().port}`, seen, stop: () => new Promise((r) => server.close(r)) };
}

test('credentials: an IAM Identity Center (SSO) profile chosen with AWS_PROFILE, after `aws sso login`, signs the calls with the role credentials it gets', async () => {
  const { dir, env } = home(
    [
      '[profile data-engineer]',
      'sso_session = corp',
      'sso_account_id = 123456789012',
      'sso_role_name = DataEngineer',
      'region = eu-west-1',
      '',
      '[sso-session corp]',
      'sso_start_url = https://corp.awsapps.com/start',
      'sso_region = eu-west-1',
      '',
    ].join('\n'),
  );
  // What `aws sso login --sso-session corp` leaves behind: the token, cached under the SHA-1 of the session name.
  const token = 'sso-access-token-from-login';
  const cache = { accessToken: token, expiresAt: '2099-01-01T00:00:00Z', region: 'eu-west-1', startUrl: 'https://corp.awsapps.com/start' };
  writeFileSync(join(dir, '.aws', 'sso', 'cache', `${createHash('sha1').update('corp').digest('hex')}.json`), JSON.stringify(cache));
  const portal = await ssoPortal({ token, accountId: '123456789012', roleName: 'DataEngineer', accessKeyId: 'AKIDSSOROLE' });
  try {
    await withStack({}, async (server) => {
      const r = await cli(server, ['list', '--output', 'json'], { env: { ...env, AWS_PROFILE: 'data-engineer', AWS_ENDPOINT_URL_SSO: portal.url } });
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(JSON.parse(r.stdout), []);
      assert.ok(server.calls.length > 0);
      assert.deepEqual([...new Set(server.callers)], ['AKIDSSOROLE']);
      assert.ok(portal.seen.length >= 1 && portal.seen.every((c) => c.token === token && c.role === 'DataEngineer'), JSON.stringify(portal.seen));
    });
  } finally {
    await portal.stop();
  }
});
