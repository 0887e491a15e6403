/**
 * The ARN forms a config may hold, as AWS's pages write them: secrets (Secrets Manager
 * "Secret ARN" examples, and the `rds!cluster-...` secret RDS creates when it manages the master
 * password: Aurora User Guide, "Password management with Amazon Aurora and AWS Secrets Manager")
 * and log groups (CloudWatch Logs API reference: `LogGroup.logGroupArn` has no trailing `:*`,
 * `LogGroup.arn` has one), in the aws, aws-cn and aws-us-gov partitions.
 */
import { describe, expect, it } from 'vitest';
import { SECRET_ARN_PATTERN, logGroupRef } from '../../src/core/arn.ts';
import { parseConfig } from '../../src/core/config.ts';
import { queryIdentifier } from '../../src/adapters/aws/insights-query.ts';

describe('secret ARNs', () => {
  it.each([
    'arn:aws:secretsmanager:us-west-2:111122223333:secret:MyTestDatabaseSecret-a1b2c3',
    'arn:aws:secretsmanager:us-east-1:123456789012:secret:rds!cluster-3ad5c6e1-73c6-4e0a-b0c6-3e0f0c4c1a5e-AbCdEf',
    'arn:aws:secretsmanager:ap-northeast-2:123456789012:secret:rds!db-1b2c3d4e-5f60-7a8b-9c0d-1e2f3a4b5c6d-Xy12Zw',
    'arn:aws-cn:secretsmanager:cn-north-1:123456789012:secret:prod/orders/monitor-a1b2c3',
    'arn:aws-us-gov:secretsmanager:us-gov-west-1:123456789012:secret:team+db=monitor@x.y_z-a1b2c3',
    // A partial ARN (no random suffix): GetSecretValue accepts it.
    'arn:aws:secretsmanager:eu-west-1:123456789012:secret:ipdrift/orders',
  ])('accepts %s', (arn) => {
    // Act / Assess: the pattern, and a whole config with it.
    expect(SECRET_ARN_PATTERN.test(arn)).toBe(true);
    expect(() =>
      parseConfig({
        targets: [
          { name: 'db', type: 'aurora', host: 'db.cluster-x.rds.test', port: 5432, engine: 'postgres', clusterIdentifier: 'db', login: { secretArn: arn } },
        ],
      }),
    ).not.toThrow();
  });

  it.each([
    'arn:aws:secretsmanager:us-east-1:123456789012:MyTestDatabaseSecret-a1b2c3',
    'arn:aws:ssm:us-east-1:123456789012:secret:x',
    'arn:aws:secretsmanager:us-east-1:12345678901:secret:x',
    'arn:aws:secretsmanager:us-east-1:123456789012:secret:has space',
    'MyTestDatabaseSecret',
  ])('refuses %s', (arn) => {
    expect(SECRET_ARN_PATTERN.test(arn)).toBe(false);
  });
});

describe('log groups', () => {
  it.each([
    ['/vpc/flow-logs', { name: '/vpc/flow-logs' }, '/vpc/flow-logs'],
    [
      'arn:aws:logs:us-east-1:123456789012:log-group:/vpc/flow-logs',
      { name: '/vpc/flow-logs', arn: 'arn:aws:logs:us-east-1:123456789012:log-group:/vpc/flow-logs' },
      'arn:aws:logs:us-east-1:123456789012:log-group:/vpc/flow-logs',
    ],
    [
      'arn:aws:logs:us-east-1:123456789012:log-group:/vpc/flow-logs:*',
      { name: '/vpc/flow-logs', arn: 'arn:aws:logs:us-east-1:123456789012:log-group:/vpc/flow-logs' },
      'arn:aws:logs:us-east-1:123456789012:log-group:/vpc/flow-logs',
    ],
    [
      'arn:aws-us-gov:logs:us-gov-west-1:123456789012:log-group:resolver#queries',
      { name: 'resolver#queries', arn: 'arn:aws-us-gov:logs:us-gov-west-1:123456789012:log-group:resolver#queries' },
      'arn:aws-us-gov:logs:us-gov-west-1:123456789012:log-group:resolver#queries',
    ],
    [
      'arn:aws-cn:logs:cn-northwest-1:123456789012:log-group:flow.logs_1:*',
      { name: 'flow.logs_1', arn: 'arn:aws-cn:logs:cn-northwest-1:123456789012:log-group:flow.logs_1' },
      'arn:aws-cn:logs:cn-northwest-1:123456789012:log-group:flow.logs_1',
    ],
  ])('%s is %j, queried as %s (StartQuery refuses a trailing :*)', (spec, ref, queried) => {
    // Act / Assess
    expect(logGroupRef(spec)).toEqual(ref);
    expect(queryIdentifier(spec)).toBe(queried);
    expect(() =>
      parseConfig({ targets: [{ name: 'a', type: 'elb', host: 'a.test', port: 80 }], resolverLogs: { source: 'cloudwatch', logGroup: spec } }),
    ).not.toThrow();
  });

  it.each(['arn:aws:logs:us-east-1:123456789012:log-stream:x', 'arn:aws:logs:us-east-1:123456789012:log-group:', 'has space', 'a:b'])('refuses %s', (spec) => {
    expect(logGroupRef(spec)).toBeUndefined();
  });
});
