/**
 * The AWS APIs a function in a VPC calls, as VPC endpoint services: what `-c endpoints=create`
 * creates and what `ipdrift cost` prices. DynamoDB is a gateway endpoint (no hourly charge);
 * the rest are interface endpoints ($0.01 per AZ-hour each, plus data). The function never calls
 * CloudWatch Logs (Lambda ships its logs) unless it queries flow logs there, nor KMS (SNS encrypts for it).
 */
import type { Config } from './config.ts';

/** Interface endpoint services, by their service name suffix (`com.amazonaws.<region>.<name>`). */
export type InterfaceEndpointService = 'sns' | 'monitoring' | 'rds' | 'secretsmanager' | 'logs';

/**
 * The interface endpoints the stack's functions need for `config`: SNS, CloudWatch metrics, RDS
 * with Aurora targets, Secrets Manager when an Aurora target logs in with a secret.
 */
export function interfaceEndpointsFor(config: Pick<Config, 'targets'> & Partial<Pick<Config, 'flowLogs'>>): InterfaceEndpointService[] {
  const out: InterfaceEndpointService[] = ['sns', 'monitoring'];
  if (config.targets.some((t) => t.type === 'aurora')) out.push('rds');
  if (config.targets.some((t) => t.type === 'aurora' && t.login?.secretArn)) out.push('secretsmanager');
  // Logs Insights queries (flow evidence) are a call the function makes itself.
  if (config.flowLogs?.source === 'cloudwatch') out.push('logs');
  return out;
}
