/**
 * The AWS APIs a function in a VPC calls, as VPC endpoint services: what `-c endpoints=create`
 * creates and what `ipdrift cost` prices. DynamoDB is a gateway endpoint (no hourly charge);
 * the rest are interface endpoints ($0.01 per AZ-hour each, plus data). The function never calls
 * CloudWatch Logs (Lambda ships its logs) unless it queries flow logs there, nor KMS (SNS encrypts for it).
 */
import type { Config } from '../core/config.ts';

/** Interface endpoint services, by their service name suffix (`com.amazonaws.<region>.<name>`). */
export type InterfaceEndpointService = 'sns' | 'monitoring' | 'rds' | 'secretsmanager' | 'logs';

/**
 * The interface endpoints the stack's functions need for `config`: SNS, CloudWatch metrics, RDS
 * with Aurora targets, Secrets Manager when an Aurora target logs in with a secret.
 */
export function interfaceEndpointsFor(config: Pick<Config, 'targets'> & Partial<Pick<Config, 'flowLogs' | 'resolverLogs'>>): InterfaceEndpointService[] {
  const out: InterfaceEndpointService[] = ['sns', 'monitoring'];
  if (config.targets.some((t) => t.type === 'aurora')) out.push('rds');
  if (config.targets.some((t) => t.type === 'aurora' && t.login?.secretArn)) out.push('secretsmanager');
  // Logs Insights queries (flow and resolver evidence) are calls the function makes itself.
  if (config.flowLogs?.source === 'cloudwatch' || config.resolverLogs?.source === 'cloudwatch') out.push('logs');
  return out;
}

/** Every endpoint service the stack may create: the interface ones and the DynamoDB gateway. */
export const ENDPOINT_SERVICES = ['sns', 'monitoring', 'rds', 'secretsmanager', 'logs', 'dynamodb'] as const;
export type EndpointService = (typeof ENDPOINT_SERVICES)[number];

/**
 * The AWS SDK's service-specific endpoint variable for each interface endpoint service
 * (`AWS_ENDPOINT_URL_` + the SDK's service id in upper case, spaces as "_"; AWS SDKs and Tools
 * reference guide, "Service-specific endpoints"). The stack creates its endpoints without private
 * DNS, so that no other workload in the VPC is sent to them, and points the functions' SDK
 * clients at each endpoint's own DNS name with these.
 */
export const ENDPOINT_URL_ENV: Readonly<Record<InterfaceEndpointService, string>> = {
  sns: 'AWS_ENDPOINT_URL_SNS',
  monitoring: 'AWS_ENDPOINT_URL_CLOUDWATCH',
  rds: 'AWS_ENDPOINT_URL_RDS',
  secretsmanager: 'AWS_ENDPOINT_URL_SECRETS_MANAGER',
  logs: 'AWS_ENDPOINT_URL_CLOUDWATCH_LOGS',
};
