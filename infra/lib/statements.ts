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

/**
 * What Lambda needs to create and remove the function's network interfaces in a VPC, inline
 * instead of AWSLambdaVPCAccessExecutionRole (which also grants logs on every group). The same
 * EC2 actions as that policy (v3); Lambda's documentation requires `*` (DescribeNetworkInterfaces
 * works only on `*`, and the interfaces do not exist before Lambda creates them).
 * https://docs.aws.amazon.com/lambda/latest/dg/configuration-vpc.html
 */
export const VPC_ENI_ACTIONS = [
  'ec2:AssignPrivateIpAddresses',
  'ec2:CreateNetworkInterface',
  'ec2:DeleteNetworkInterface',
  'ec2:DescribeNetworkInterfaces',
  'ec2:DescribeSubnets',
  'ec2:UnassignPrivateIpAddresses',
] as const;

/** The VPC network-interface statement of a function that runs in a VPC. */
export function vpcEniStatement(): iam.PolicyStatement {
  return new iam.PolicyStatement({ sid: 'VpcNetworkInterfaces', actions: [...VPC_ENI_ACTIONS], resources: ['*'] });
}
