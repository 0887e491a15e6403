/**
 * The configuration contract (README, "Configuration"): schema, defaults applied in one place, and
 * validation errors that name the path of what is wrong (`targets[1].port: ...`).
 */
import * as z from 'zod';
import { isIP } from 'node:net';
import { AWS_REGION_PATTERN, DEFAULTS } from './constants.ts';
import { DEFAULT_METRIC_SET, METRIC_SETS } from './metric-sets.ts';
import { DEFAULT_FLOW_FORMAT, parseFlowFormat } from './flow-log.ts';
import { errorMessage } from './error-text.ts';
import { issueText } from './config-issues.ts';
import { SECRET_ARN_PATTERN, logGroupRef } from './arn.ts';
import { IpdriftError } from './errors.ts';
import { TARGET_TYPE_DESCRIPTORS, TARGET_TYPE_NAMES } from './target-types.ts';

/** A configuration that failed validation; `issues` are `path: message` lines. */
export class ConfigError extends IpdriftError {
  override readonly name = 'ConfigError';
  readonly code = 'config';
  constructor(
    readonly issues: string[],
    readonly source?: string,
    options?: { cause?: unknown },
  ) {
    super(`${source ? `${source}: ` : ''}invalid configuration\n  ${issues.join('\n  ')}`, options);
  }
}

const HOSTNAME_RE = /^(?=.{1,253}$)(?!-)[A-Za-z0-9_-]{1,63}(?<!-)(\.(?!-)[A-Za-z0-9_-]{1,63}(?<!-))*\.?$/;

const hostName = z
  .string()
  .min(1, 'must not be empty')
  .refine((h) => isIP(h) !== 0 || HOSTNAME_RE.test(h), 'expected a DNS name or an IP address');

const port = z
  .number({ error: 'expected a port number 1-65535' })
  .int('expected a port number 1-65535')
  .min(1, 'expected a port number 1-65535')
  .max(65535, 'expected a port number 1-65535');

const resolverAddress = z.string().refine((s) => parseResolver(s) !== undefined, {
  message: 'expected an IP address, optionally with :port ("10.0.0.2", "127.0.0.1:5353", "[::1]:53")',
});

const positiveInt = (what: string) => z.number().int(`expected a whole number of ${what}`).positive(`expected a positive number of ${what}`);

const targetName = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'expected 1-64 characters: letters, digits, ".", "_" or "-", starting with a letter or digit');

/** Options every target has; defaults applied here and nowhere else. */
const common = {
  name: targetName.describe('The target\'s name: letters, digits, ".", "_", "-"; unique.'),
  timeoutMs: positiveInt('milliseconds').max(60_000, 'must be at most 60000').default(DEFAULTS.timeoutMs).describe('Per-probe timeout, ms.'),
  retainRetiredMinutes: positiveInt('minutes')
    .max(43_200, 'must be at most 43200 (30 days)')
    .default(DEFAULTS.retainRetiredMinutes)
    .describe('How long retired addresses are kept and probed, minutes.'),
  renotifyMinutes: positiveInt('minutes').default(DEFAULTS.renotifyMinutes).describe('Reminder interval of an open alert, minutes.'),
  resolveAfterChecks: positiveInt('checks')
    .max(100, 'must be at most 100')
    .default(DEFAULTS.resolveAfterChecks)
    .describe('Checks with no evidence of the condition before an alert resolves.'),
  openAfterChecks: positiveInt('checks')
    .max(100, 'must be at most 100')
    .default(DEFAULTS.openAfterChecks)
    .describe('Checks in a row a warning must be seen before it opens (criticals open at once).'),
};

/** How a secret-looking config value is refused; the value itself is never repeated. */
const SECRET_ADVICE = 'keep secrets out of the config (it is logged, bundled and shown)';

/**
 * Words that make a query parameter (or a `name=value` path segment) a secret. Names are split
 * into words (`accessToken`, `X-Amz-Security-Token`, `api_key`) and compared word by word, so
 * `author` or `passage` do not match.
 */
const SECRET_WORDS: ReadonlySet<string> = new Set([
  'password',
  'passwd',
  'pwd',
  'pass',
  'passphrase',
  'secret',
  'token',
  'apikey',
  'auth',
  'authorization',
  'credential',
  'credentials',
  'signature',
  'sig',
  'jsessionid',
  'phpsessid',
  'sessionid',
]);
/** Two-word names that are secrets together (`api_key`, `accessKey`, `private-key`, `session_id`). */
const SECRET_WORD_PAIRS: readonly (readonly [string, string])[] = [
  ['api', 'key'],
  ['access', 'key'],
  ['private', 'key'],
  ['secret', 'key'],
  ['session', 'id'],
];
/** A parameter named exactly this is an API key (`?key=AIza...`). */
const SECRET_EXACT_NAMES: ReadonlySet<string> = new Set(['key']);

/** Well-known credential formats, wherever they appear in a URL or path. */
const SECRET_PATTERNS: readonly { what: string; re: RegExp }[] = [
  { what: 'an AWS access key id', re: /(?<![A-Z0-9])(?:A3T[A-Z0-9]|AKIA|ASIA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA)[A-Z0-9]{16}(?![A-Z0-9])/ },
  { what: 'a GitHub token', re: /\bgh[pousr]_[A-Za-z0-9]{36,}/ },
  { what: 'a Slack token', re: /\bxox[abprs]-[A-Za-z0-9-]{10,}/ },
  { what: 'a JSON Web Token', re: /\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\./ },
];

/** True when a parameter name says its value is a secret. */
function isSecretName(name: string): boolean {
  const words = name
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter(Boolean);
  if (words.length === 1 && SECRET_EXACT_NAMES.has(words[0]!)) return true;
  if (words.some((w) => SECRET_WORDS.has(w))) return true;
  return words.some((w, i) => SECRET_WORD_PAIRS.some(([a, b]) => w === a && words[i + 1] === b));
}

const decode = (s: string) => {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
};

/**
 * Describes the first secret-looking part of a URL or URL path (query parameters, `name=value`
 * path segments, the fragment, known credential formats), without repeating its value;
 * undefined when none. Credentials in the authority (`user:pw@`) are refused by the URL rule.
 */
export function findSecret(urlOrPath: string): string | undefined {
  let u: URL;
  try {
    u = new URL(urlOrPath, 'http://config.invalid');
  } catch {
    return undefined;
  }
  const decoded = decode(urlOrPath);
  for (const { what, re } of SECRET_PATTERNS) if (re.test(urlOrPath) || re.test(decoded)) return `contains what looks like ${what}`;
  for (const name of u.searchParams.keys()) if (isSecretName(name)) return `query parameter "${name}" looks like a secret`;
  for (const name of new URLSearchParams(u.hash.slice(1)).keys()) if (isSecretName(name)) return `fragment parameter "${name}" looks like a secret`;
  for (const segment of u.pathname.split('/')) {
    // Matrix parameters and `name=value` / `name:value` segments: `/v1;jsessionid=...`, `/token=...`.
    for (const part of decode(segment).split(';')) {
      const m = /^([^=:]+)[=:]/.exec(part);
      if (m && isSecretName(m[1]!)) return `path segment "${m[1]}=..." looks like a secret`;
    }
  }
  return undefined;
}

/** Zod check: refuses a URL or path that carries a secret, naming what without repeating it. */
const noSecret = (value: string, ctx: z.RefinementCtx) => {
  const found = findSecret(value);
  if (found) ctx.addIssue({ code: 'custom', message: `${found}: ${SECRET_ADVICE}` });
};

const urlPath = z
  .string()
  .regex(/^\/[^\s]*$/, 'expected a path starting with "/"')
  .superRefine(noSecret);

const probeSchema = z.strictObject({
  protocol: z
    .enum(['tcp', 'tls', 'http', 'https'], { error: 'expected one of tcp, tls, http, https' })
    .describe('tcp; tls (SNI = host, certificate name checked); http; https (Host header = host).'),
  path: urlPath.default('/').describe('HTTP path of the probe.'),
  /** HTTP statuses that count as healthy: 200, "200-399", or a list of them (the probe's own default: 200-399). */
  expectStatus: z
    .union([z.number(), z.string(), z.array(z.union([z.number(), z.string()]))], {
      error: 'expected a status such as 200, a range such as "200-399", or a list of them',
    })
    .transform((v, ctx): number[] => {
      const items = Array.isArray(v) ? v : [v];
      const out = new Set<number>();
      for (const item of items) {
        const range = typeof item === 'string' ? /^(\d{3})(?:-(\d{3}))?$/.exec(item.trim()) : null;
        const [lo, hi] = typeof item === 'number' ? [item, item] : range ? [Number(range[1]), Number(range[2] ?? range[1])] : [Number.NaN, Number.NaN];
        if (!Number.isInteger(lo) || !Number.isInteger(hi) || lo < 100 || hi > 599 || lo > hi) {
          ctx.addIssue({ code: 'custom', message: `expected a status such as 200, a range such as "200-399", or a list of them; got ${JSON.stringify(item)}` });
          return z.NEVER;
        }
        for (let s = lo; s <= hi; s++) out.add(s);
      }
      if (out.size === 0) {
        ctx.addIssue({ code: 'custom', message: 'expected at least one status' });
        return z.NEVER;
      }
      return [...out].sort((a, b) => a - b);
    })
    .optional()
    .describe('Healthy HTTP statuses: a status (200), a range ("200-399", the default) or a list of them.'),
});

const elbTarget = z.strictObject({
  ...common,
  type: z.literal('elb').describe(TARGET_TYPE_DESCRIPTORS.elb.summary),
  host: hostName.describe("The ELB's DNS name, as clients use it."),
  port: port.describe('The port to probe on every address.'),
  probe: probeSchema.default({ protocol: 'tcp', path: '/' }).describe('How each address is probed.'),
});

const httpUrl = z
  .string()
  .refine((s) => {
    try {
      const u = new URL(s);
      return (u.protocol === 'http:' || u.protocol === 'https:') && u.username === '' && u.password === '';
    } catch {
      return false;
    }
  }, 'expected an http:// or https:// URL without credentials')
  .superRefine(noSecret);

const webTierTarget = z.strictObject({
  ...common,
  type: z.literal('web-tier').describe(TARGET_TYPE_DESCRIPTORS['web-tier'].summary),
  url: httpUrl.describe('A URL through the web tier to the application behind `upstream`.'),
  /** Name of the `elb` target this web tier proxies to. */
  upstream: targetName.describe('The elb target this web tier proxies to.'),
  echo: z
    .strictObject({ path: urlPath.describe('Returns the address the application\'s caller connected from (text, or JSON {"address"}).') })
    .optional()
    .describe('Turns a suspicion into proof: which upstream address the tier really reaches.'),
  /** Which server the web tier runs, when its `Server` header does not say. */
  server: z.enum(['apache', 'nginx', 'haproxy']).optional().describe("The web tier's server, for its own advice, when its Server header does not say."),
  /**
   * The addresses the tier's hosts send from (flow log evidence joins its incident by them);
   * default: its URL host's address.
   */
  clientAddresses: z
    .array(z.string().refine((a) => isIP(a) !== 0, 'expected an IP address'))
    .min(1)
    .optional()
    .describe("The addresses the tier's hosts send from (flow evidence joins its incident by them); default: its URL host's address."),
});

const auroraTarget = z.strictObject({
  ...common,
  type: z.literal('aurora').describe(TARGET_TYPE_DESCRIPTORS.aurora.summary),
  host: hostName.describe('The cluster (writer) endpoint.'),
  port: port.describe('The database port.'),
  engine: z.enum(['mysql', 'postgres'], { error: 'expected "mysql" or "postgres"' }).describe('How the port is probed (greeting or SSLRequest).'),
  clusterIdentifier: z
    .string()
    .regex(/^[A-Za-z][A-Za-z0-9-]{0,62}$/, 'expected an RDS cluster identifier')
    .describe('The DB cluster identifier: where RDS says the writer is.'),
  readerHost: hostName.optional().describe('The reader endpoint, also resolved and probed.'),
  region: z
    .string()
    .regex(AWS_REGION_PATTERN, 'expected an AWS region such as "ap-northeast-2"')
    .optional()
    .describe("The cluster's region (default: the Lambda's)."),
  dnsLagWarnSeconds: z
    .number()
    .positive('expected a positive number of seconds')
    .default(DEFAULTS.dnsLagWarnSeconds)
    .describe('DNS naming the old writer this long after the writer changed is dns-lag.'),
  /**
   * A client's-eye view: log in through the endpoint and ask whether the session can write
   * (endpoint-reaches-reader). The password comes from `--db-password-file` (CLI) or the
   * Secrets Manager secret (Lambda), never from this file.
   */
  login: z
    .strictObject({
      user: z
        .string()
        .regex(/^[A-Za-z_][A-Za-z0-9_$-]{0,62}$/, 'expected a database user name')
        .optional()
        .describe('The database user (CLI; the Lambda reads it from the secret).'),
      database: z
        .string()
        .regex(/^[A-Za-z_][A-Za-z0-9_$-]{0,62}$/, 'expected a database name')
        .optional()
        .describe('The database to connect to.'),
      secretArn: z
        .string()
        .regex(SECRET_ARN_PATTERN, 'expected a Secrets Manager secret ARN (arn:<partition>:secretsmanager:<region>:<account>:secret:<name>)')
        .optional()
        .describe('The Secrets Manager secret with the password (Lambda), read as RDS writes it.'),
      /** TLS to the database: required (Aurora's default, `rds.force_ssl`) or off. */
      tls: z
        .enum(['require', 'off'], { error: 'expected "require" or "off"' })
        .default('require')
        .describe('TLS to the database: "require" (Aurora\'s rds.force_ssl) or "off".'),
    })
    .optional()
    .describe('The session check (endpoint-reaches-reader); the password comes from --db-password-file or the secret, never from here.'),
});

const flowFormat = z
  .string()
  .default(DEFAULT_FLOW_FORMAT)
  .superRefine((f, ctx) => {
    try {
      parseFlowFormat(f);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: (err as Error).message });
    }
  })
  .describe(
    "The flow log's record format, the fields as given to AWS (version account-id interface-id ...); default: the v2 default format; tcp-flags is needed for proof.",
  );
/**
 * Sources that are never stale clients: the monitor's own (its probes of retired addresses are
 * in the flow log too): addresses or CIDR blocks, e.g. the monitor's subnets.
 */
const ignoreSources = z
  .array(
    z.string().refine((s) => {
      const [ip, bits, ...rest] = s.split('/');
      const family = isIP(ip ?? '');
      if (family === 0 || rest.length > 0) return false;
      return bits === undefined || (/^\d+$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128));
    }, 'expected an IP address or a CIDR block such as "10.0.8.0/24"'),
  )
  .optional()
  .describe("The monitor's own addresses or subnets: never stale clients (its probes are in the flow logs too).");
/**
 * How far back a read looks: a client counts as still sending only with a record this recent, so
 * an incident resolves once the client is fixed (not 24 h later, when the address leaves the
 * history). Flow logs arrive minutes late: the CloudWatch default covers aggregation (up to
 * 10 min) and delivery (about 5 min).
 */
const windowSeconds = z
  .number()
  .int('expected whole seconds')
  .min(1, 'expected at least 1 second')
  .max(86_400, 'expected at most 86400 seconds')
  .describe('How recent a record must be to count, seconds.');
/** How often the flow evidence is read: each read scans the log (CloudWatch bills it). */
const everyMinutes = z
  .number()
  .int('expected whole minutes')
  .min(0, 'expected 0 (every check) or more minutes')
  .max(60, 'expected at most 60 minutes')
  .describe('How often the log is read, minutes (0: every check); each CloudWatch read is billed.');
const logGroupName = z
  .string()
  .refine(
    (s) => logGroupRef(s) !== undefined,
    'expected a CloudWatch Logs log group name, or its ARN (arn:<partition>:logs:<region>:<account>:log-group:<name>, with or without :*)',
  )
  .describe("The log group: its name, or its ARN (another account's, from a monitoring account; the function's region).");
const logFilePath = z.string().min(1, 'expected a file path').describe('A local file, as AWS writes the records.');
const flowLogsSchema = z.discriminatedUnion(
  'source',
  [
    z
      .strictObject({
        source: z.literal('cloudwatch').describe('Read with CloudWatch Logs Insights (billed per byte scanned).'),
        logGroup: logGroupName,
        format: flowFormat,
        everyMinutes: everyMinutes.default(DEFAULTS.flowEveryMinutes),
        windowSeconds: windowSeconds.default(DEFAULTS.flowWindowSeconds),
        ignoreSources,
      })
      .superRefine((f, ctx) => {
        // In a VPC the monitor's own probes of retired addresses are in the flow logs: unlisted,
        // the monitor would page about itself.
        if (!f.ignoreSources?.length)
          ctx.addIssue({
            code: 'custom',
            path: ['ignoreSources'],
            message: "required with CloudWatch flow logs: list the monitor's subnets (its probes of retired addresses are in the flow logs too)",
          });
      }),
    z.strictObject({
      source: z.literal('file').describe('Read from a local file (the lab, or logs exported from S3).'),
      path: logFilePath,
      format: flowFormat,
      // A file costs nothing to read: every check.
      everyMinutes: everyMinutes.default(0),
      windowSeconds: windowSeconds.default(60),
      ignoreSources,
    }),
  ],
  { error: 'expected "source" to be "cloudwatch" or "file"' },
);

/**
 * How far before a change the resolver read starts: a host must be seen asking before the change
 * for its silence after it to prove anything.
 */
const lookbackMinutes = z
  .number()
  .int('expected whole minutes')
  .min(1, 'expected at least 1 minute')
  .max(1440, 'expected at most 1440 minutes (24 h)')
  .describe('How far before a change the resolver read starts, minutes.');
/**
 * The cache census (flow and resolver logs together): how often it runs, and how long past its
 * last query a host that keeps opening connections counts as caching the name.
 */
const cachingAfterSeconds = z
  .number()
  .int('expected whole seconds')
  .min(1, 'expected at least 1 second')
  .max(86_400, 'expected at most 86400 seconds')
  .describe('How long past its last query a host that opens connections counts as caching, seconds (never under twice the TTL).');
/** What an honest client may cache on top of the TTL before proof counts (a JVM keeps answers 30 s by default). */
const clientCacheSeconds = z
  .number()
  .int('expected whole seconds')
  .min(0, 'expected 0 or more seconds')
  .max(3600, 'expected at most 3600 seconds')
  .describe('What an honest client caches on top of the TTL before proof counts, seconds (a JVM: 30).');
const censusEveryMinutes = z
  .number()
  .int('expected whole minutes')
  .min(0, 'expected 0 (every check) or more minutes')
  .max(1440, 'expected at most 1440 minutes')
  .describe('How often the cache census runs, minutes (0: every check); needs flowLogs too.');
const resolverLogsSchema = z.discriminatedUnion(
  'source',
  [
    z.strictObject({
      source: z.literal('cloudwatch').describe('Read with CloudWatch Logs Insights (billed per byte scanned).'),
      logGroup: logGroupName,
      everyMinutes: everyMinutes.default(DEFAULTS.flowEveryMinutes),
      lookbackMinutes: lookbackMinutes.default(DEFAULTS.resolverLookbackMinutes),
      censusEveryMinutes: censusEveryMinutes.default(DEFAULTS.censusEveryMinutes),
      cachingAfterSeconds: cachingAfterSeconds.default(DEFAULTS.cachingAfterSeconds),
      clientCacheSeconds: clientCacheSeconds.default(DEFAULTS.clientCacheSeconds),
    }),
    z.strictObject({
      source: z.literal('file').describe('Read from a local file (the lab, or logs exported from S3).'),
      path: logFilePath,
      // A file costs nothing to read: every check.
      everyMinutes: everyMinutes.default(0),
      lookbackMinutes: lookbackMinutes.default(DEFAULTS.resolverLookbackMinutes),
      censusEveryMinutes: censusEveryMinutes.default(0),
      cachingAfterSeconds: cachingAfterSeconds.default(DEFAULTS.cachingAfterSeconds),
      clientCacheSeconds: clientCacheSeconds.default(DEFAULTS.clientCacheSeconds),
    }),
  ],
  { error: 'expected "source" to be "cloudwatch" or "file"' },
);

/** Who a notify sink hears (core/notice.ts audienceOf): the pages, the events, or both. */
export const NOTIFY_AUDIENCES = ['on-call', 'events', 'all'] as const;
const sinkName = targetName.describe(
  'The sink\'s name (its queue of undelivered notices in the state directory is kept under it); default "<type>-<position>".',
);
const sinkAudience = z
  .enum(NOTIFY_AUDIENCES, { error: 'expected "on-call", "events" or "all"' })
  .default('on-call')
  .describe(
    '"on-call": the paging transitions (warning and critical: opened, updated, reminder, resolved); "events": address and writer changes and info findings; "all": both.',
  );
const sinkTimeoutMs = (byDefault: number) =>
  positiveInt('milliseconds').max(60_000, 'must be at most 60000').default(byDefault).describe('How long one delivery may take, ms.');
const webhookSink = z.strictObject({
  type: z.literal('webhook').describe('POST each notice as JSON to a URL (README, "Notifications from the CLI").'),
  name: sinkName.optional(),
  url: httpUrl.describe('The receiver (http:// or https://).'),
  audience: sinkAudience,
  secretFile: z
    .string()
    .min(1, 'expected a file path')
    .optional()
    .describe('A file holding the HMAC key: each POST carries X-Ipdrift-Signature: sha256=<hex HMAC-SHA256 of the body>.'),
  timeoutMs: sinkTimeoutMs(5000),
  attempts: z
    .number()
    .int('expected a whole number')
    .min(1, 'expected at least 1')
    .max(10, 'expected at most 10')
    .default(3)
    .describe('Tries per check before the notice waits for the next check.'),
});
const execSink = z.strictObject({
  type: z.literal('exec').describe('Run a command with each notice as JSON on its stdin; exit 0 means delivered.'),
  name: sinkName.optional(),
  command: z
    .array(z.string().min(1, 'must not be empty'), { error: 'expected the program and its arguments, e.g. ["/usr/local/bin/page-me", "--team", "sre"]' })
    .min(1, 'expected the program and its arguments, e.g. ["/usr/local/bin/page-me"]')
    .describe('The program and its arguments (no shell).'),
  audience: sinkAudience,
  timeoutMs: sinkTimeoutMs(10_000),
});
const labelName = /^[A-Za-z_][A-Za-z0-9_]*$/;
const alertmanagerSink = z.strictObject({
  type: z.literal('alertmanager').describe("Alertmanager's v2 API: each paging alert posted while open, and closed (endsAt) when it resolves."),
  name: sinkName.optional(),
  url: httpUrl.describe("Alertmanager's base URL, e.g. http://127.0.0.1:9093 (alerts go to /api/v2/alerts)."),
  timeoutMs: sinkTimeoutMs(5000),
  holdMinutes: z
    .number()
    .int('expected whole minutes')
    .min(1, 'expected at least 1 minute')
    .max(1440, 'expected at most 1440 minutes')
    .default(15)
    .describe('An open alert is re-posted every check with endsAt this far ahead: keep it over 3 check intervals, or Alertmanager resolves it between checks.'),
  labels: z
    .record(z.string(), z.string({ error: 'expected a string' }))
    .superRefine((labels, ctx) => {
      for (const name of Object.keys(labels))
        if (!labelName.test(name))
          ctx.addIssue({ code: 'custom', path: [name], message: 'expected a label name: letters, digits and "_", not starting with a digit' });
    })
    .optional()
    .describe('Labels added to every alert (e.g. {"team": "sre"}), for routing.'),
});
const notifySchema = z.discriminatedUnion('type', [webhookSink, execSink, alertmanagerSink], {
  error: 'expected "type" to be one of "webhook", "exec", "alertmanager"',
});

const targetSchema = z.discriminatedUnion('type', [elbTarget, webTierTarget, auroraTarget], {
  error: `expected "type" to be one of ${TARGET_TYPE_NAMES.map((t) => `"${t}"`).join(', ')}`,
});

/** An issue at `<list>[i].name` for each name already taken earlier in the list (the first place named). */
function flagDuplicateNames(ctx: z.RefinementCtx, list: 'targets' | 'notify', names: readonly string[], what: string): void {
  const first = new Map<string, number>();
  names.forEach((name, i) => {
    const at = first.get(name);
    if (at !== undefined) ctx.addIssue({ code: 'custom', path: [list, i, 'name'], message: `duplicate ${what} name "${name}" (also ${list}[${at}])` });
    else first.set(name, i);
  });
}

export const configSchema = z
  .strictObject({
    $schema: z.string().optional().describe("This file's JSON Schema, for editors (config.schema.json in the package)."),
    resolvers: z
      .array(resolverAddress)
      .min(1, 'must list at least one resolver when given')
      .optional()
      .describe('DNS servers, "host" or "host:port" ("[v6]:port"); default: the system\'s.'),
    /** Whole-check deadline; the Lambda uses its remaining time instead. */
    deadlineMs: positiveInt('milliseconds')
      .max(DEFAULTS.checkDeadlineMaxMs)
      .default(DEFAULTS.checkDeadlineMs)
      .describe('Whole-check deadline of the CLI, ms (the Lambda uses its remaining time).'),
    /** CloudWatch metrics published (core/metric-sets.ts): "minimal" keeps only what the alarms watch. */
    metrics: z
      .enum(METRIC_SETS, { error: 'expected "standard" or "minimal"' })
      .default(DEFAULT_METRIC_SET)
      .describe('"minimal" publishes only the metrics the alarms watch.'),
    /**
     * Probe loopback addresses in DNS answers: only for the lab on this machine. Off, a loopback
     * answer (like 0.0.0.0 or the metadata service) is reported as unusable and never probed.
     */
    allowLoopback: z
      .boolean({ error: 'expected true or false' })
      .default(false)
      .describe('Probe loopback addresses in DNS answers: only for a lab on this machine.'),
    targets: z.array(targetSchema).min(1, 'must list at least one target').describe('What to watch: elb, web-tier and aurora targets.'),
    /** VPC Flow Logs as evidence of stale clients (core/flow-log.ts). */
    flowLogs: flowLogsSchema.optional().describe('VPC Flow Logs as evidence of who still sends to a retired address.'),
    /** Route 53 Resolver query logs as proof a client will not move (core/resolver-log.ts). */
    resolverLogs: resolverLogsSchema.optional().describe('Route 53 Resolver query logs: who stopped asking for a name (proof, and the cache census).'),
    /** Where `check` and `watch` deliver notices besides the terminal (the Lambda uses its SNS topics). */
    notify: z
      .array(notifySchema)
      .optional()
      .describe('Where check and watch deliver notices besides the terminal: webhook, exec, alertmanager (the Lambda uses its SNS topics).'),
  })
  .superRefine((cfg, ctx) => {
    flagDuplicateNames(ctx, 'notify', (cfg.notify ?? []).map(sinkNameOf), 'sink');
    flagDuplicateNames(
      ctx,
      'targets',
      cfg.targets.map((t) => t.name),
      'target',
    );
    cfg.targets.forEach((t, i) => {
      if (t.type !== 'web-tier') return;
      const up = cfg.targets.find((u) => u.name === t.upstream);
      if (!up) ctx.addIssue({ code: 'custom', path: ['targets', i, 'upstream'], message: `no target named "${t.upstream}"` });
      else if (up.type !== 'elb')
        ctx.addIssue({ code: 'custom', path: ['targets', i, 'upstream'], message: `"${t.upstream}" is a ${up.type} target; expected an elb target` });
    });
  });

export type Config = z.output<typeof configSchema>;
export type ConfigInput = z.input<typeof configSchema>;
export type TargetConfig = Config['targets'][number];
export type ElbTarget = Extract<TargetConfig, { type: 'elb' }>;
export type WebTierTarget = Extract<TargetConfig, { type: 'web-tier' }>;
export type AuroraTarget = Extract<TargetConfig, { type: 'aurora' }>;
export type NotifyConfig = NonNullable<Config['notify']>[number];

/** A sink's name: its own, or `<type>-<position from 1>`. */
export const sinkNameOf = (sink: Pick<NotifyConfig, 'type' | 'name'>, index: number) => sink.name ?? `${sink.type}-${index + 1}`;

/** `targets[1].port` from a zod path. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out === '' ? String(p) : `.${String(p)}`;
  }
  return out === '' ? '(root)' : out;
}

/** Validates a parsed JSON value; throws ConfigError listing every problem with its path. */
export function parseConfig(value: unknown, source?: string): Config {
  const result = configSchema.safeParse(value);
  if (result.success) return result.data;
  const issues = result.error.issues.map((issue) => `${formatPath(issue.path)}: ${issueText(issue, value, configSchema)}`);
  throw new ConfigError(issues, source);
}

/** Parses JSON text then validates it; JSON syntax errors carry the line and column. */
export function parseConfigText(text: string, source?: string): Config {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    const msg = errorMessage(err);
    throw new ConfigError([`(root): malformed JSON: ${describeJsonError(text, msg)}`], source, { cause: err });
  }
  return parseConfig(value, source);
}

function describeJsonError(text: string, msg: string): string {
  // V8 quotes the text around the error (`Unexpected token 'x', "...text..." is not valid JSON`):
  // drop it, as that text may hold a secret the user is about to remove.
  const safe = msg.replace(/, (?:\.\.\.)?"[\s\S]*"(?:\.\.\.)? is not valid JSON$/, '');
  const m = /position (\d+)/.exec(safe);
  if (!m) return safe;
  const pos = Number(m[1]);
  const before = text.slice(0, pos);
  const line = before.split('\n').length;
  const col = pos - before.lastIndexOf('\n');
  return `${safe.replace(/ in JSON at position \d+.*$/, '')} at line ${line}, column ${col}`;
}

/** Splits `host`, `host:port`, `[v6]:port` into a resolver address Node's dns accepts; undefined when invalid. */
export function parseResolver(spec: string): { host: string; port: number } | undefined {
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(spec);
  if (v6) return checked(v6[1]!, v6[2]);
  if (isIP(spec) === 6) return { host: spec, port: 53 };
  const idx = spec.lastIndexOf(':');
  if (idx === -1) return checked(spec, undefined);
  return checked(spec.slice(0, idx), spec.slice(idx + 1));

  function checked(host: string, portText: string | undefined) {
    if (isIP(host) === 0) return undefined;
    const p = portText === undefined ? 53 : Number(portText);
    if (!Number.isInteger(p) || p < 1 || p > 65535) return undefined;
    return { host, port: p };
  }
}
