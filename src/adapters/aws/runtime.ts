/**
 * What every Lambda entry point shares: the SDK clients (created once per container, every call
 * bounded in time) and a Powertools logger behind the engine's logger port.
 */
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SNSClient } from '@aws-sdk/client-sns';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { Logger } from '@aws-lambda-powertools/logger';
import type { EngineLogger } from '../../core/ports.ts';

/**
 * Every AWS call is bounded: a service that accepts and never answers must not hold a check
 * past its deadline (the engine also bounds publishing with its own budget).
 */
export const AWS_CLIENT_SETTINGS = { requestHandler: { requestTimeout: 5000, connectionTimeout: 2000 } } as const;

// Module scope: created once per container, reused while warm.
export const documentClient = DynamoDBDocumentClient.from(new DynamoDBClient(AWS_CLIENT_SETTINGS));
export const snsClient = new SNSClient(AWS_CLIENT_SETTINGS);
export const cloudWatchClient = new CloudWatchClient(AWS_CLIENT_SETTINGS);

const loggers = new Map<string, EngineLogger>();

/** A Powertools logger for `serviceName` (one per container) behind the engine's logger port. */
export function powertoolsLogger(serviceName: string): EngineLogger {
  let logger = loggers.get(serviceName);
  if (!logger) {
    const l = new Logger({ serviceName });
    logger = {
      info: (message, extra) => l.info(message, extra ?? {}),
      warn: (message, extra) => l.warn(message, extra ?? {}),
      error: (message, extra) => l.error(message, extra ?? {}),
    };
    loggers.set(serviceName, logger);
  }
  return logger;
}
