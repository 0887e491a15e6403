/** The session check's credentials in Lambda: GetSecretValue, exactly, kept a few minutes. */
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { allCustomMatcher } from 'aws-sdk-client-mock-vitest';
import type {} from 'aws-sdk-client-mock-vitest/extend';
import { beforeEach, describe, expect, it } from 'vitest';
import { SECRET_CACHE_MS, secretCredentials } from '../../src/adapters/aws/secret-credentials.ts';
import { SessionCheckError } from '../../src/adapters/db/session-check.ts';
import { parseConfig } from '../../src/core/config.ts';
import type { AuroraTarget } from '../../src/core/config.ts';

expect.extend(allCustomMatcher);

const ARN = 'arn:aws:secretsmanager:ap-northeast-2:123456789012:secret:orders/app-AbCdEf';
const target = (login: Record<string, unknown>) =>
  parseConfig({
    targets: [
      {
        name: 'orders-db',
        type: 'aurora',
        host: 'orders.cluster-abc.ap-northeast-2.rds.amazonaws.com',
        port: 5432,
        engine: 'postgres',
        clusterIdentifier: 'orders',
        login,
      },
    ],
  }).targets[0] as AuroraTarget;

describe('secretCredentials', () => {
  const sm = mockClient(SecretsManagerClient);
  beforeEach(() => sm.reset());

  it('reads {"username","password"} with one GetSecretValue by ARN, keeps it for a while, then reads again', async () => {
    // Prepare
    sm.on(GetSecretValueCommand).resolves({ SecretString: JSON.stringify({ username: 'app', password: 'pw', engine: 'postgres' }) });
    let now = 0;
    const source = secretCredentials({ client: new SecretsManagerClient({ region: 'ap-northeast-2' }), now: () => now });
    const t = target({ secretArn: ARN });
    // Act
    const first = await source(t);
    now = SECRET_CACHE_MS - 1;
    await source(t);
    now = SECRET_CACHE_MS;
    await source(t);
    // Assess
    expect(first).toEqual({ user: 'app', password: 'pw' });
    expect(sm).toHaveReceivedCommandTimes(GetSecretValueCommand, 2);
    expect(sm).toHaveReceivedCommandWith(GetSecretValueCommand, { SecretId: ARN });
    expect(sm.commandCalls(GetSecretValueCommand)[0]!.args[0].input).toEqual({ SecretId: ARN });
  });

  it("login.user overrides the secret's user", async () => {
    sm.on(GetSecretValueCommand).resolves({ SecretString: JSON.stringify({ username: 'admin', password: 'pw' }) });
    const source = secretCredentials({ client: new SecretsManagerClient({ region: 'ap-northeast-2' }) });
    expect(await source(target({ secretArn: ARN, user: 'monitor' }))).toEqual({ user: 'monitor', password: 'pw' });
  });

  it.each([
    ['no secretArn', {}, undefined, '"login.secretArn" is needed'],
    ['a plain-text secret', { secretArn: ARN }, 'hunter2', 'is not a JSON secret'],
    ['no password', { secretArn: ARN }, JSON.stringify({ username: 'app' }), 'has no string "username" and "password"'],
  ])('says what is wrong: %s', async (_name, login, secret, message) => {
    // Prepare
    if (secret !== undefined) sm.on(GetSecretValueCommand).resolves({ SecretString: secret });
    const source = secretCredentials({ client: new SecretsManagerClient({ region: 'ap-northeast-2' }) });
    // Act
    const run = source(target(login));
    // Assess
    await expect(run).rejects.toBeInstanceOf(SessionCheckError);
    await expect(run).rejects.toThrow(message);
  });

  it('names the API error when the secret cannot be read', async () => {
    sm.on(GetSecretValueCommand).rejects(
      Object.assign(new Error('User is not authorized to perform secretsmanager:GetSecretValue'), { name: 'AccessDeniedException' }),
    );
    const source = secretCredentials({ client: new SecretsManagerClient({ region: 'ap-northeast-2' }) });
    await expect(source(target({ secretArn: ARN }))).rejects.toThrow(`orders-db: cannot read ${ARN}: AccessDeniedException: User is not authorized`);
  });
});
