/**
 * AWS list prices `ipdrift cost` multiplies by: ONE table, each price with the page it comes from,
 * all read on one date for one region. No free tier is applied anywhere (an account's free tier
 * is shared with everything else in it). A JSON file (`--prices FILE`) overrides any of them.
 */
import * as z from 'zod';
import { formatPath } from '../../core/config.ts';
import { errorMessage } from '../../core/error-text.ts';
import { IpdriftError } from '../../core/errors.ts';

/** One price: US dollars per `unit`, and where it was read. */
export interface Price {
  readonly usd: number;
  readonly unit: string;
  readonly source: string;
}

/** CloudWatch custom metrics are priced in tiers of the account's metric count. */
export interface MetricTier {
  /** Metrics up to this count (cumulative) are at this tier's price; absent for the last tier. */
  readonly upTo?: number;
  readonly usd: number;
}

/** Names of the prices in the table. */
export const PRICE_KEYS = [
  'lambdaRequest',
  'lambdaArmGbSecond',
  'stepFunctionsTransition',
  'cloudWatchApiRequest',
  'cloudWatchAlarm',
  'cloudWatchDashboard',
  'logsIngestedGb',
  'logsStoredGbMonth',
  'logsInsightsGbScanned',
  'dynamoWriteUnit',
  'dynamoReadUnit',
  'dynamoStorageGbMonth',
  'dynamoPitrGbMonth',
  'snsPublish',
  'snsEmailDelivery',
  'kmsKey',
  'kmsRequest',
  'vpcEndpointAzHour',
  'vpcEndpointGb',
  'syntheticsCanaryRun',
] as const;
export type PriceKey = (typeof PRICE_KEYS)[number];

/** A whole price table. */
export interface PriceTable {
  /** The region the prices are of. */
  readonly region: string;
  /** When they were read (ISO date). */
  readonly date: string;
  readonly source: string;
  readonly prices: Readonly<Record<PriceKey, Price>>;
  /** CloudWatch custom metrics, per metric-month, by tier. */
  readonly metricTiers: readonly MetricTier[];
  readonly metricTiersSource: string;
}

const PAGES = {
  lambda: 'https://aws.amazon.com/lambda/pricing/',
  stepFunctions: 'https://aws.amazon.com/step-functions/pricing/',
  cloudWatch: 'https://aws.amazon.com/cloudwatch/pricing/',
  dynamo: 'https://aws.amazon.com/dynamodb/pricing/on-demand/',
  sns: 'https://aws.amazon.com/sns/pricing/',
  kms: 'https://aws.amazon.com/kms/pricing/',
  privateLink: 'https://aws.amazon.com/privatelink/pricing/',
} as const;

const MILLION = 1_000_000;
const THOUSAND = 1_000;

/** The built-in table: us-east-1 on-demand list prices (DynamoDB's after its November 2024 cut). */
export const PRICE_TABLE: PriceTable = {
  region: 'us-east-1',
  date: '2025-06-01',
  source: 'AWS public pricing pages, on-demand list prices',
  prices: {
    lambdaRequest: { usd: 0.2 / MILLION, unit: 'request', source: PAGES.lambda },
    lambdaArmGbSecond: { usd: 0.0000133334, unit: 'GB-second (arm64, first 7.5 billion)', source: PAGES.lambda },
    stepFunctionsTransition: { usd: 0.025 / THOUSAND, unit: 'state transition (Standard workflow)', source: PAGES.stepFunctions },
    cloudWatchApiRequest: { usd: 0.01 / THOUSAND, unit: 'PutMetricData request', source: PAGES.cloudWatch },
    cloudWatchAlarm: { usd: 0.1, unit: 'standard-resolution alarm-month', source: PAGES.cloudWatch },
    cloudWatchDashboard: { usd: 3, unit: 'dashboard-month', source: PAGES.cloudWatch },
    logsIngestedGb: { usd: 0.5, unit: 'GB ingested (standard class)', source: PAGES.cloudWatch },
    logsStoredGbMonth: { usd: 0.03, unit: 'GB-month stored', source: PAGES.cloudWatch },
    logsInsightsGbScanned: { usd: 0.005, unit: 'GB scanned by Logs Insights queries', source: PAGES.cloudWatch },
    dynamoWriteUnit: { usd: 0.625 / MILLION, unit: 'write request unit (on-demand)', source: PAGES.dynamo },
    dynamoReadUnit: { usd: 0.125 / MILLION, unit: 'read request unit (on-demand)', source: PAGES.dynamo },
    dynamoStorageGbMonth: { usd: 0.25, unit: 'GB-month stored', source: PAGES.dynamo },
    dynamoPitrGbMonth: { usd: 0.2, unit: 'GB-month of point-in-time recovery', source: PAGES.dynamo },
    snsPublish: { usd: 0.5 / MILLION, unit: 'publish (64 KB chunk)', source: PAGES.sns },
    snsEmailDelivery: { usd: 2 / 100_000, unit: 'email delivery', source: PAGES.sns },
    kmsKey: { usd: 1, unit: 'customer managed key-month', source: PAGES.kms },
    kmsRequest: { usd: 0.03 / 10_000, unit: 'request', source: PAGES.kms },
    vpcEndpointAzHour: { usd: 0.01, unit: 'interface endpoint-hour per AZ', source: PAGES.privateLink },
    vpcEndpointGb: { usd: 0.01, unit: 'GB processed', source: PAGES.privateLink },
    syntheticsCanaryRun: { usd: 0.0012, unit: 'canary run', source: PAGES.cloudWatch },
  },
  metricTiers: [{ upTo: 10_000, usd: 0.3 }, { upTo: 250_000, usd: 0.1 }, { upTo: 1_000_000, usd: 0.05 }, { usd: 0.02 }],
  metricTiersSource: PAGES.cloudWatch,
};

/** A prices file that failed validation; `issues` are `path: message` lines. */
export class PriceFileError extends IpdriftError {
  override readonly name = 'PriceFileError';
  readonly code = 'price-file';
  constructor(
    readonly issues: string[],
    readonly source: string,
    options?: { cause?: unknown },
  ) {
    super(`${source}: invalid prices\n  ${issues.join('\n  ')}`, options);
  }
}

const usd = z.number({ error: 'expected a number of US dollars' }).nonnegative('expected a non-negative number of US dollars');

/** The override file: any subset of the prices (US dollars per the table's unit), and the tiers. */
const priceFileSchema = z.strictObject({
  $schema: z.string().optional(),
  region: z.string().min(1, 'must not be empty').optional(),
  date: z
    .string()
    .regex(/^\d{4}-\d{2}-\d{2}$/, 'expected a date as YYYY-MM-DD')
    .optional(),
  source: z.string().min(1, 'must not be empty').optional(),
  prices: z.strictObject(Object.fromEntries(PRICE_KEYS.map((k) => [k, usd.optional()])) as Record<PriceKey, z.ZodOptional<typeof usd>>).optional(),
  metricTiers: z
    .array(z.strictObject({ upTo: z.number().int('expected a whole number of metrics').positive('expected a positive number of metrics').optional(), usd }))
    .min(1, 'must list at least one tier')
    .superRefine((tiers, ctx) => {
      tiers.forEach((t, i) => {
        const last = i === tiers.length - 1;
        if (last && t.upTo !== undefined)
          ctx.addIssue({ code: 'custom', path: [i, 'upTo'], message: 'the last tier takes every remaining metric: leave "upTo" out' });
        if (!last && t.upTo === undefined) ctx.addIssue({ code: 'custom', path: [i, 'upTo'], message: 'required on every tier but the last' });
        const before = tiers[i - 1]?.upTo;
        if (t.upTo !== undefined && before !== undefined && t.upTo <= before)
          ctx.addIssue({ code: 'custom', path: [i, 'upTo'], message: `must be more than the previous tier's ${before}` });
      });
    })
    .optional(),
});

/** The override file's content (see priceFileSchema). */
export type PriceFile = z.output<typeof priceFileSchema>;

/**
 * Applies a parsed JSON prices file over `base`; a price the file leaves out keeps its table
 * value. Prices from the file name the file as their source.
 *
 * @throws PriceFileError naming each bad path (`prices.kmsKey: expected a number of US dollars`).
 */
export function applyPriceFile(base: PriceTable, value: unknown, source: string): PriceTable {
  const result = priceFileSchema.safeParse(value);
  if (!result.success) {
    throw new PriceFileError(
      result.error.issues.map((issue) => {
        const message =
          issue.code === 'unrecognized_keys' ? `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}` : issue.message;
        return `${formatPath(issue.path)}: ${message}`;
      }),
      source,
    );
  }
  const file = result.data;
  const prices = { ...base.prices };
  for (const key of PRICE_KEYS) {
    const v = file.prices?.[key];
    if (v !== undefined) prices[key] = { ...base.prices[key], usd: v, source };
  }
  return {
    region: file.region ?? base.region,
    date: file.date ?? base.date,
    source: file.source ?? `${base.source}, overridden by ${source}`,
    prices,
    metricTiers: file.metricTiers ?? base.metricTiers,
    metricTiersSource: file.metricTiers ? source : base.metricTiersSource,
  };
}

/** Parses JSON text, then {@link applyPriceFile}; malformed JSON is a PriceFileError too. */
export function applyPriceText(base: PriceTable, text: string, source: string): PriceTable {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new PriceFileError([`(root): malformed JSON: ${errorMessage(err)}`], source, { cause: err });
  }
  return applyPriceFile(base, value, source);
}

/** Monthly price of `count` custom metrics across the tiers. */
export function metricsMonthlyUsd(count: number, tiers: readonly MetricTier[]): number {
  let left = count;
  let floor = 0;
  let total = 0;
  for (const tier of tiers) {
    if (left <= 0) break;
    const inTier = tier.upTo === undefined ? left : Math.min(left, tier.upTo - floor);
    total += inTier * tier.usd;
    left -= inTier;
    floor = tier.upTo ?? floor;
  }
  return total;
}
