/**
 * The stack's VPC endpoints have private DNS off, and the functions reach them through the SDK's
 * service-specific endpoint variables (planning/vpc-endpoints.ts ENDPOINT_URL_ENV). Proven here with
 * the SDK clients the handlers use: each sends its request to the endpoint's own DNS name when
 * its variable is set, and to the regional name when it is not. No request leaves the process:
 * a request handler records where it would go, and refuses.
 */
import { CloudWatchClient, PutMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { CloudWatchLogsClient, StartQueryCommand } from '@aws-sdk/client-cloudwatch-logs';
import { DescribeDBClustersCommand, RDSClient } from '@aws-sdk/client-rds';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { afterEach, describe, expect, it } from 'vitest';
import { ENDPOINT_URL_ENV } from '../../src/planning/vpc-endpoints.ts';
import type { InterfaceEndpointService } from '../../src/planning/vpc-endpoints.ts';

const REGION = 'eu-west-1';
const credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' };

/** A request handler that records the host it was asked to reach and sends nothing. */
function recorder() {
  const hosts: string[] = [];
  const requestHandler = {
    handle: async (request: { hostname: string }) => {
      hosts.push(request.hostname);
      throw new Error('recorded, not sent');
    },
  };
  return { hosts, requestHandler };
}

/** Each service's client and one call the handlers make with it. */
const CALLS: Record<InterfaceEndpointService, (r: ReturnType<typeof recorder>) => Promise<unknown>> = {
  sns: (r) =>
    new SNSClient({ region: REGION, credentials, requestHandler: r.requestHandler }).send(
      new PublishCommand({ TopicArn: 'arn:aws:sns:eu-west-1:123456789012:t', Message: 'x' }),
    ),
  monitoring: (r) =>
    new CloudWatchClient({ region: REGION, credentials, requestHandler: r.requestHandler }).send(
      new PutMetricDataCommand({ Namespace: 'ipdrift', MetricData: [{ MetricName: 'm', Value: 1 }] }),
    ),
  rds: (r) =>
    new RDSClient({ region: REGION, credentials, requestHandler: r.requestHandler }).send(new DescribeDBClustersCommand({ DBClusterIdentifier: 'orders' })),
  secretsmanager: (r) =>
    new SecretsManagerClient({ region: REGION, credentials, requestHandler: r.requestHandler }).send(new GetSecretValueCommand({ SecretId: 'x' })),
  logs: (r) =>
    new CloudWatchLogsClient({ region: REGION, credentials, requestHandler: r.requestHandler }).send(
      new StartQueryCommand({ logGroupIdentifiers: ['/vpc/flow'], startTime: 0, endTime: 1, queryString: 'fields @message' }),
    ),
};

/** Regional hosts, as each service's endpoint rules name them. */
const REGIONAL: Record<InterfaceEndpointService, string> = {
  sns: 'sns.eu-west-1.amazonaws.com',
  monitoring: 'monitoring.eu-west-1.amazonaws.com',
  rds: 'rds.eu-west-1.amazonaws.com',
  secretsmanager: 'secretsmanager.eu-west-1.amazonaws.com',
  logs: 'logs.eu-west-1.amazonaws.com',
};

describe('ENDPOINT_URL_ENV', () => {
  afterEach(() => {
    for (const name of Object.values(ENDPOINT_URL_ENV)) delete process.env[name];
  });

  it.each(Object.keys(CALLS) as InterfaceEndpointService[])(
    '%s: the variable sends the client to the endpoint DNS name; unset, to the region',
    async (service) => {
      // Prepare: an endpoint-specific DNS name as DnsEntries gives it (the part after the zone id).
      const vpce = `vpce-0123456789abcdef0-abcdefgh.${service}.eu-west-1.vpce.amazonaws.com`;
      const viaEndpoint = recorder();
      const direct = recorder();
      // Act
      process.env[ENDPOINT_URL_ENV[service]] = `https://${vpce}`;
      await CALLS[service](viaEndpoint).catch(() => undefined);
      delete process.env[ENDPOINT_URL_ENV[service]];
      await CALLS[service](direct).catch(() => undefined);
      // Assess
      expect(viaEndpoint.hosts[0]).toBe(vpce);
      expect(direct.hosts[0]).toBe(REGIONAL[service]);
    },
  );
});
