/**
 * The ARN forms AWS documents for the resources a config names: Secrets Manager secrets (also
 * the ones RDS creates and names `rds!cluster-<uuid>-<suffix>`) and CloudWatch Logs log groups
 * (as `logGroupArn`, and as DescribeLogGroups' `arn`, which ends in `:*`), in every partition:
 * aws, aws-cn (China), aws-us-gov (GovCloud), the ISO partitions and aws-eusc. Imports nothing.
 */

/** Partitions (the ARN's second field). */
const PARTITION = 'aws(?:-cn|-us-gov|-iso(?:-[a-z])?|-eusc)?';
/** Regions: `us-east-1`, `cn-north-1`, `us-gov-west-1`, `eusc-de-east-1`. */
const REGION = String.raw`[a-z]{2,4}(?:-[a-z]+)+-\d`;
/** Log group names: letters, digits, `_ - / . #`, 1-512 (CloudWatch Logs CreateLogGroup). */
const LOG_GROUP_NAME = '[A-Za-z0-9_/.#-]{1,512}';

/**
 * A secret's ARN: names take letters, digits and `/_+=.@-` (Secrets Manager CreateSecret), and
 * RDS's own `rds!` prefix; the 6-character suffix Secrets Manager adds may be left off (a partial ARN).
 */
export const SECRET_ARN_PATTERN = new RegExp(String.raw`^arn:${PARTITION}:secretsmanager:${REGION}:\d{12}:secret:[A-Za-z0-9/_+=.@!-]{1,512}$`);

/** A log group's name. */
export const LOG_GROUP_NAME_PATTERN = new RegExp(`^${LOG_GROUP_NAME}$`);

const LOG_GROUP_ARN = new RegExp(String.raw`^(arn:${PARTITION}:logs:${REGION}:\d{12}:log-group:(${LOG_GROUP_NAME}))(?::\*)?$`);

/** A log group as the config names it: its name, and its ARN (without `:*`) when given one. */
export interface LogGroupRef {
  name: string;
  arn?: string;
}

/** `/vpc/flow`, or `arn:aws:logs:us-east-1:123456789012:log-group:/vpc/flow[:*]`; undefined when neither. */
export function logGroupRef(spec: string): LogGroupRef | undefined {
  const m = LOG_GROUP_ARN.exec(spec);
  if (m) return { name: m[2]!, arn: m[1]! };
  return LOG_GROUP_NAME_PATTERN.test(spec) ? { name: spec } : undefined;
}
