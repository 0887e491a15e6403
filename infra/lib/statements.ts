/** IAM statements every ipdrift function role shares, written once so they cannot drift apart. */
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as logs from 'aws-cdk-lib/aws-logs';
import { METRIC_NAMESPACE } from './target-metrics.ts';

/**
 * `cloudwatch:PutMetricData` in the ipdrift namespace. PutMetricData has no resource type: `*` is
 * the only resource IAM accepts; the namespace condition is what scopes it.
 */
export function putMetricsStatement(): iam.PolicyStatement {
  return new iam.PolicyStatement({
    sid: 'Metrics',
    actions: ['cloudwatch:PutMetricData'],
    resources: ['*'],
    conditions: { StringEquals: { 'cloudwatch:namespace': METRIC_NAMESPACE } },
  });
}

/** Writing to the function's own log group (instead of AWSLambdaBasicExecutionRole's logs on every group). */
export function ownLogsStatement(logGroup: logs.ILogGroup): iam.PolicyStatement {
  return new iam.PolicyStatement({ sid: 'Logs', actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resources: [logGroup.logGroupArn] });
}
