/** `ipdrift cost`: a monthly AWS estimate of the stack for a config, line by line. */
import { readBoundedFile } from '../../adapters/local/bounded-read.ts';
import { dynamoItemSize } from '../../adapters/aws/item-size.ts';
import { TABLE_KEYS } from '../../contract.ts';
import { AWS_REGION_PATTERN, STATE_SCHEMA_VERSION } from '../../core/constants.ts';
import type { Config, TargetConfig } from '../../core/config.ts';
import { COST_ASSUMPTIONS, CostInputError, estimateCost, recommendMemory } from '../../planning/cost/estimate.ts';
import type { CostEstimate, CostInput, CostTarget } from '../../planning/cost/estimate.ts';
import { estimateJson, formatEstimate } from '../cost-format.ts';
import { PRICE_TABLE, PriceFileError, applyPriceText } from '../../planning/cost/prices.ts';
import type { PriceTable } from '../../planning/cost/prices.ts';
import { METRIC_SETS } from '../../core/metric-sets.ts';
import type { MetricSet } from '../../core/metric-sets.ts';
import { SHARD_DEFAULTS } from '../../core/shard.ts';
import type { AddressRecord, TargetState } from '../../core/types.ts';
import { interfaceEndpointsFor } from '../../planning/vpc-endpoints.ts';
import { parse, parseCount, parseDuration } from '../args.ts';
import { EXIT, UsageError } from '../errors.ts';
import { loadConfigFile } from '../load-config.ts';
import { MS_PER_MINUTE } from '../../core/time-units.ts';
import { unreachable } from '../../core/errors.ts';

export const COST_USAGE = `Usage: ipdrift cost --config FILE [--region R] [--interval 1m] [--duration-ms N] [--memory-mb 256]
                    [--prices FILE] [--json] [--vpc-endpoints N|create] [--shard-size N] [--metrics standard|minimal]
                    [--flow-gb-per-hour N] [--resolver-gb-per-hour N]

Estimates what the ipdrift stack costs a month for a config: Lambda, Step Functions (past one
invocation), CloudWatch metrics (exactly the series published for the config's "metrics"),
PutMetricData, alarms, dashboard, logs, DynamoDB, SNS, the topic's KMS key and VPC endpoints;
per target, and against one CloudWatch Synthetics canary per target.

Options:
  -c, --config FILE      configuration (JSON)
      --region R         the region you deploy to (the built-in prices are us-east-1's)
      --interval DUR     time between checks, whole minutes 1m-60m (default 1m)
      --duration-ms N    billed ms of one checking invocation (default: a model of the benchmark)
      --memory-mb N      function memory (default 256)
      --prices FILE      JSON overriding prices: {"region","date","source","prices":{...},"metricTiers":[...]}
      --vpc-endpoints N  interface endpoints you pay for the function's VPC (default 0: a NAT gateway
                         you already have); "create": the ones -c endpoints=create makes for this
                         config (SNS, CloudWatch, and RDS with Aurora targets)
      --shard-size N     targets per invocation before fanning out (default ${SHARD_DEFAULTS.targetsPerInvocation})
      --metrics SET      estimate another metric set than the config's
      --flow-gb-per-hour N  GB an hour your flow log group takes in (its IncomingBytes; default 1):
                         Logs Insights bills every byte in a query's range, whatever the filter
      --resolver-gb-per-hour N  the same for the Route 53 Resolver query log group (default 1)
      --json             print the estimate as JSON
  -h, --help             this help

Examples:
  ipdrift cost -c ipdrift.json
  ipdrift cost -c ipdrift.json --interval 5m --metrics minimal --vpc-endpoints create --json

Exit status: 0, or 2 on a usage, config or prices error.`;

const OPTIONS = {
  config: { type: 'string', short: 'c' },
  region: { type: 'string' },
  interval: { type: 'string', default: '1m' },
  'duration-ms': { type: 'string' },
  'memory-mb': { type: 'string', default: String(COST_ASSUMPTIONS.defaultMemoryMb) },
  prices: { type: 'string' },
  json: { type: 'boolean', default: false },
  'vpc-endpoints': { type: 'string', default: '0' },
  'shard-size': { type: 'string', default: String(SHARD_DEFAULTS.targetsPerInvocation) },
  metrics: { type: 'string' },
  'flow-gb-per-hour': { type: 'string' },
  'resolver-gb-per-hour': { type: 'string' },
} as const;

/** A positive number (a fraction allowed), or a usage error naming the flag. */
function parsePositive(text: string, flag: string): number {
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0) throw new UsageError(`${flag}: expected a positive number, got "${text}"`, COST_USAGE);
  return n;
}
/** Lambda's memory bounds (MB). */
const LAMBDA_MEMORY = { min: 128, max: 10_240 } as const;
/** Largest prices file read. */
const MAX_PRICES_BYTES = 256 * 1024;

/**
 * What a target's state item holds in a steady month, for its size: an ELB in three AZs (one
 * node each), an Aurora cluster endpoint naming its writer, a web tier with its latency window.
 */
export const REPRESENTATIVE_STATE = {
  elbAddresses: 3,
  auroraAddresses: 1,
  latencySamples: 20,
  /** A private address as long as they come (`10.100.200.123`). */
  address: '10.100.200.123',
  /** A TLS identity is the SHA-256 fingerprint in hex pairs. */
  tlsFingerprintChars: 95,
} as const;

/** The state item of `target` as src/adapters/aws/dynamo-store.ts writes it, with representative content. */
export function representativeStateItem(target: TargetConfig, at = new Date(0).toISOString()): Record<string, unknown> {
  const address = (identity?: string): AddressRecord => ({
    address: REPRESENTATIVE_STATE.address,
    firstSeen: at,
    lastSeen: at,
    ...(identity !== undefined ? { identity } : {}),
    lastProbe: { at, ok: true, latencyMs: 12 },
  });
  const state: TargetState = { schemaVersion: STATE_SCHEMA_VERSION, target: target.name, version: 43_800, updatedAt: at, addresses: [], alerts: {} };
  switch (target.type) {
    case 'elb': {
      const identity =
        target.probe.protocol === 'tls'
          ? `tls:${'A'.repeat(REPRESENTATIVE_STATE.tlsFingerprintChars)}`
          : target.probe.protocol === 'tcp'
            ? undefined
            : 'http:awselb/2.0';
      state.addresses = Array.from({ length: REPRESENTATIVE_STATE.elbAddresses }, () => address(identity));
      break;
    }
    case 'aurora':
      state.addresses = Array.from({ length: REPRESENTATIVE_STATE.auroraAddresses }, () =>
        address(target.engine === 'postgres' ? 'postgres:ssl=S' : 'mysql:8.0.mysql_aurora.3.05.2'),
      );
      state.aurora = { apiWriter: `${target.clusterIdentifier}-instance-1`, dnsWriter: `${target.clusterIdentifier}-instance-1` };
      break;
    case 'web-tier':
      state.latencies = Array.from({ length: REPRESENTATIVE_STATE.latencySamples }, () => 123);
      break;
    default:
      // A new target type must say what its state holds: priced as a web tier, it would be priced wrong.
      unreachable(target, 'representativeStateItem: target type');
  }
  const { alerts: _alerts, ...fields } = state;
  return { ...fields, [TABLE_KEYS.partitionKey]: `${TABLE_KEYS.targetPrefix}${target.name}`, [TABLE_KEYS.sortKey]: TABLE_KEYS.stateSk, alertIndex: {} };
}

/** The estimate's targets: name, type, upstream and state item size. */
export function costTargets(config: Config): CostTarget[] {
  return config.targets.map((t) => ({
    name: t.name,
    type: t.type,
    ...(t.type === 'web-tier' ? { upstream: t.upstream } : {}),
    stateItemBytes: dynamoItemSize(representativeStateItem(t)),
  }));
}

async function loadPrices(path: string | undefined): Promise<PriceTable> {
  if (path === undefined) return PRICE_TABLE;
  let text: string;
  try {
    text = await readBoundedFile(path, MAX_PRICES_BYTES);
  } catch (err) {
    throw new PriceFileError([`(root): cannot read the file (${(err as Error).message})`], path, { cause: err });
  }
  return applyPriceText(PRICE_TABLE, text, path);
}

function parseIntervalMinutes(text: string): number {
  const ms = parseDuration(text, '--interval', COST_USAGE);
  const minutes = ms / MS_PER_MINUTE;
  if (!Number.isInteger(minutes) || minutes < 1 || minutes > 60)
    throw new UsageError(`--interval: expected whole minutes from 1m to 60m (the schedule's rate), got "${text}"`, COST_USAGE);
  return minutes;
}

function parseMetricSet(text: string | undefined): MetricSet | undefined {
  if (text === undefined) return undefined;
  if (!(METRIC_SETS as readonly string[]).includes(text))
    throw new UsageError(`--metrics: expected ${METRIC_SETS.map((s) => `"${s}"`).join(' or ')}, got "${text}"`, COST_USAGE);
  return text as MetricSet;
}

/** Runs the command; the estimate for `--json` and tests. */
export async function costCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, OPTIONS, COST_USAGE);
  if (values.help) {
    console.log(COST_USAGE);
    return EXIT.ok;
  }
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`, COST_USAGE);
  const intervalMinutes = parseIntervalMinutes(values.interval!);
  const memoryMb = parseCount(values['memory-mb']!, '--memory-mb', COST_USAGE);
  if (memoryMb < LAMBDA_MEMORY.min || memoryMb > LAMBDA_MEMORY.max)
    throw new UsageError(`--memory-mb: Lambda takes ${LAMBDA_MEMORY.min}-${LAMBDA_MEMORY.max}, got ${memoryMb}`, COST_USAGE);
  const durationMs = values['duration-ms'] === undefined ? undefined : parseCount(values['duration-ms'], '--duration-ms', COST_USAGE);
  const shardSize = parseCount(values['shard-size']!, '--shard-size', COST_USAGE);
  const flowGbPerHour = values['flow-gb-per-hour'] === undefined ? undefined : parsePositive(values['flow-gb-per-hour'], '--flow-gb-per-hour');
  const resolverGbPerHour = values['resolver-gb-per-hour'] === undefined ? undefined : parsePositive(values['resolver-gb-per-hour'], '--resolver-gb-per-hour');
  const vpcText = values['vpc-endpoints']!;
  const asked = parseMetricSet(values.metrics);
  if (values.region !== undefined && !AWS_REGION_PATTERN.test(values.region))
    throw new UsageError(`--region: expected an AWS region such as "ap-northeast-2", got "${values.region}"`, COST_USAGE);

  const config = await loadConfigFile(values.config, COST_USAGE);
  let prices: PriceTable;
  try {
    prices = await loadPrices(values.prices);
  } catch (err) {
    if (!(err instanceof PriceFileError)) throw err;
    console.error(`ipdrift cost: ${err.message}`);
    return EXIT.usage;
  }

  const vpcEndpoints = vpcText === 'create' ? interfaceEndpointsFor(config).length : vpcText === '0' ? 0 : parseCount(vpcText, '--vpc-endpoints', COST_USAGE);
  const metricSet = asked ?? config.metrics;
  const base: Omit<CostInput, 'metricSet'> = {
    targets: costTargets(config),
    intervalMinutes,
    memoryMb,
    shardSize,
    vpcEndpoints,
    prices,
    ...(durationMs !== undefined ? { durationMs } : {}),
    ...(config.flowLogs?.source === 'cloudwatch'
      ? {
          flowQuery: {
            everyMinutes: config.flowLogs.everyMinutes,
            windowSeconds: config.flowLogs.windowSeconds,
            ...(flowGbPerHour !== undefined ? { gbPerHour: flowGbPerHour } : {}),
          },
        }
      : {}),
    ...(config.resolverLogs?.source === 'cloudwatch'
      ? {
          resolverQuery: {
            everyMinutes: config.resolverLogs.everyMinutes,
            lookbackMinutes: config.resolverLogs.lookbackMinutes,
            censusEveryMinutes: config.resolverLogs.censusEveryMinutes,
            ...(resolverGbPerHour !== undefined ? { gbPerHour: resolverGbPerHour } : {}),
          },
        }
      : {}),
  };
  let estimate: CostEstimate;
  let alternative: CostEstimate;
  try {
    estimate = estimateCost({ ...base, metricSet });
    alternative = estimateCost({ ...base, metricSet: metricSet === 'standard' ? 'minimal' : 'standard' });
  } catch (err) {
    if (err instanceof CostInputError) throw new UsageError(err.message, COST_USAGE);
    throw err;
  }
  // The model's recommendation; with --duration-ms the duration is yours, not the model's: none.
  const memory = durationMs === undefined ? recommendMemory({ ...base, metricSet }) : undefined;
  const opts = {
    source: values.config!,
    prices,
    alternative,
    ...(memory ? { memory } : {}),
    ...(values.region !== undefined ? { region: values.region } : {}),
  };
  console.log(values.json ? JSON.stringify(estimateJson(estimate, opts), null, 2) : formatEstimate(estimate, opts));
  return EXIT.ok;
}
