/**
 * CDK context -> {@link MonitorStackProps}. Separate from `bin/app.ts` so the parsing is
 * tested without synthesizing anything.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseConfigText } from '../../src/core/config.ts';
import { ENDPOINT_SERVICES } from '../../src/planning/vpc-endpoints.ts';
import type { EndpointService } from '../../src/planning/vpc-endpoints.ts';
import type { ConfigInput } from '../../src/core/config.ts';
import type { MonitorStackProps } from './monitor-stack.ts';

/** Context keys the app reads (`-c key=value`). */
export const CONTEXT_KEYS = {
  config: 'config',
  stackName: 'stackName',
  vpcId: 'vpcId',
  subnetIds: 'subnetIds',
  availabilityZones: 'availabilityZones',
  securityGroupId: 'securityGroupId',
  /** Subscribed to the on-call topic (pages). */
  alarmEmail: 'alarmEmail',
  alarmHttpsUrl: 'alarmHttpsUrl',
  /** Subscribed to the events topic (information for reading later, never a page). */
  eventsEmail: 'eventsEmail',
  eventsHttpsUrl: 'eventsHttpsUrl',
  codePath: 'codePath',
  /** Targets per invocation before the check fans out (MonitorStackProps.shardSize). */
  shardSize: 'shardSize',
  /**
   * `create`: create the VPC endpoints the functions need (MonitorVpcOptions.createEndpoints);
   * `existing`: the VPC has them all already (nothing created; `ipdrift preflight` checks).
   */
  endpoints: 'endpoints',
  /** With `endpoints=create`: services whose endpoint the VPC already has, not created (`sns,logs,dynamodb`). */
  existingEndpoints: 'existingEndpoints',
  /** The private subnets' route tables, for the DynamoDB gateway endpoint. */
  routeTableIds: 'routeTableIds',
  /** `true`: run outside any VPC although some targets look private (MonitorStackProps.outsideVpc). */
  outsideVpc: 'outsideVpc',
  /** `true`: check at once on ELB network-interface changes (CloudTrail; MonitorStackProps.elbEniEvents). */
  eniEvents: 'eniEvents',
  /** `true`: reserve concurrency (MonitorStackProps.reserveConcurrency); default off. */
  reserveConcurrency: 'reserveConcurrency',
} as const;

/** Defaults of the app's context. */
export const CONTEXT_DEFAULTS = {
  config: 'infra/example.config.json',
  stackName: 'Ipdrift',
} as const;

/** A context lookup, e.g. `(k) => app.node.tryGetContext(k)`. */
export type ContextReader = (key: string) => unknown;

/** What the app builds its stack from. */
export interface AppSettings {
  readonly stackName: string;
  /** Absolute path of the config file that was read. */
  readonly configPath: string;
  readonly props: Omit<MonitorStackProps, 'env'>;
}

/** A context value that is missing, malformed or inconsistent with the others. */
export class ContextError extends Error {
  override readonly name = 'ContextError';
}

/**
 * Reads and checks the context; reads and validates the config file (relative paths are
 * taken from `cwd`).
 *
 * @throws ContextError on bad context, ConfigError (with path-precise issues) on a bad config.
 */
export function settingsFromContext(read: ContextReader, cwd: string = process.cwd()): AppSettings {
  const str = (key: string): string | undefined => {
    const v = read(key);
    if (v === undefined || v === null || v === '') return undefined;
    if (typeof v !== 'string') throw new ContextError(`context ${key}: expected a string, got ${JSON.stringify(v)}`);
    return v.trim();
  };
  const list = (key: string): string[] | undefined => {
    const v = read(key);
    if (v === undefined || v === null || v === '') return undefined;
    const items = Array.isArray(v) ? v : typeof v === 'string' ? v.split(',') : undefined;
    if (!items || items.some((s) => typeof s !== 'string')) throw new ContextError(`context ${key}: expected a comma-separated list, got ${JSON.stringify(v)}`);
    const out = (items as string[]).map((s) => s.trim()).filter((s) => s !== '');
    return out.length > 0 ? out : undefined;
  };

  /** `true`/`false` (a string from -c, a boolean from cdk.json); absent: undefined. */
  const flag = (key: string): boolean | undefined => {
    const v = read(key);
    if (v === undefined || v === null || v === '') return undefined;
    if (v === true || v === 'true') return true;
    if (v === false || v === 'false') return false;
    throw new ContextError(`context ${key}: expected true or false, got ${JSON.stringify(v)}`);
  };

  const configPath = resolve(cwd, str(CONTEXT_KEYS.config) ?? CONTEXT_DEFAULTS.config);
  let text: string;
  try {
    text = readFileSync(configPath, 'utf8');
  } catch (err) {
    throw new ContextError(`context config: cannot read ${configPath}: ${(err as Error).message}`, { cause: err });
  }
  parseConfigText(text, configPath); // throws ConfigError naming the file and each bad path
  const config = JSON.parse(text) as ConfigInput; // validated just above

  const vpcId = str(CONTEXT_KEYS.vpcId);
  const subnetIds = list(CONTEXT_KEYS.subnetIds);
  const availabilityZones = list(CONTEXT_KEYS.availabilityZones);
  const securityGroupId = str(CONTEXT_KEYS.securityGroupId);
  const endpoints = str(CONTEXT_KEYS.endpoints);
  if (endpoints !== undefined && endpoints !== 'create' && endpoints !== 'existing')
    throw new ContextError(`context endpoints: expected "create" or "existing", got ${JSON.stringify(endpoints)}`);
  const existingEndpoints = list(CONTEXT_KEYS.existingEndpoints);
  const unknown = existingEndpoints?.filter((e) => !(ENDPOINT_SERVICES as readonly string[]).includes(e));
  if (unknown?.length)
    throw new ContextError(
      `context existingEndpoints: unknown service ${unknown.map((u) => JSON.stringify(u)).join(', ')} (expected some of ${ENDPOINT_SERVICES.join(', ')})`,
    );
  if (existingEndpoints && endpoints !== 'create')
    throw new ContextError('context existingEndpoints is for endpoints=create (endpoints=existing creates none)');
  const routeTableIds = list(CONTEXT_KEYS.routeTableIds);
  if (vpcId === undefined && (endpoints || routeTableIds)) throw new ContextError('context endpoints / routeTableIds given without vpcId');
  if (vpcId === undefined && (subnetIds || availabilityZones || securityGroupId)) {
    throw new ContextError('context subnetIds / availabilityZones / securityGroupId given without vpcId');
  }
  if (vpcId !== undefined && !subnetIds) {
    throw new ContextError('context vpcId needs subnetIds (comma-separated private subnet ids)');
  }

  const email = str(CONTEXT_KEYS.alarmEmail);
  const httpsUrl = str(CONTEXT_KEYS.alarmHttpsUrl);
  const eventsEmail = str(CONTEXT_KEYS.eventsEmail);
  const eventsHttpsUrl = str(CONTEXT_KEYS.eventsHttpsUrl);
  const codePath = str(CONTEXT_KEYS.codePath);
  const shardText = read(CONTEXT_KEYS.shardSize);
  let shardSize: number | undefined;
  if (shardText !== undefined && shardText !== null && shardText !== '') {
    shardSize = Number(shardText);
    if (!Number.isInteger(shardSize) || shardSize < 1)
      throw new ContextError(`context shardSize: expected a positive whole number of targets, got ${JSON.stringify(shardText)}`);
  }
  const reserve = flag(CONTEXT_KEYS.reserveConcurrency);
  const outsideVpc = flag(CONTEXT_KEYS.outsideVpc);
  const eniEvents = flag(CONTEXT_KEYS.eniEvents);
  return {
    stackName: str(CONTEXT_KEYS.stackName) ?? CONTEXT_DEFAULTS.stackName,
    configPath,
    props: {
      config,
      ...(vpcId !== undefined && subnetIds
        ? {
            vpc: {
              vpcId,
              subnetIds,
              ...(availabilityZones ? { availabilityZones } : {}),
              ...(securityGroupId !== undefined ? { securityGroupId } : {}),
              ...(endpoints === 'create' ? { createEndpoints: true } : {}),
              ...(existingEndpoints ? { existingEndpoints: existingEndpoints as EndpointService[] } : {}),
              ...(routeTableIds ? { routeTableIds } : {}),
            },
          }
        : {}),
      alarmSubscriptions: { ...(email !== undefined ? { email } : {}), ...(httpsUrl !== undefined ? { httpsUrl } : {}) },
      ...(eventsEmail !== undefined || eventsHttpsUrl !== undefined
        ? {
            eventSubscriptions: {
              ...(eventsEmail !== undefined ? { email: eventsEmail } : {}),
              ...(eventsHttpsUrl !== undefined ? { httpsUrl: eventsHttpsUrl } : {}),
            },
          }
        : {}),
      ...(codePath !== undefined ? { codePath: resolve(cwd, codePath) } : {}),
      ...(shardSize !== undefined ? { shardSize } : {}),
      ...(reserve ? { reserveConcurrency: true } : {}),
      ...(outsideVpc ? { outsideVpc: true } : {}),
      ...(eniEvents ? { elbEniEvents: true } : {}),
    },
  };
}

/**
 * `-c key=value` / `--context key=value` pairs from argv, so `tsx infra/bin/app.ts -c ...`
 * takes the same flags as the aws-cdk CLI (which passes context through the environment).
 */
export function contextFromArgv(argv: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    let pair: string | undefined;
    if (a === '-c' || a === '--context') pair = argv[++i];
    else if (a.startsWith('--context=')) pair = a.slice('--context='.length);
    else continue;
    const eq = pair?.indexOf('=') ?? -1;
    if (pair === undefined || eq <= 0) throw new ContextError(`${a}: expected key=value, got ${JSON.stringify(pair)}`);
    out[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return out;
}
