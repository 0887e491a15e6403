/**
 * Database credentials for the session check in Lambda: the target's `login.secretArn`, read
 * with GetSecretValue. The secret is the JSON RDS and Secrets Manager rotation use
 * (`{"username": ..., "password": ...}`); `login.user` overrides the user. Answers are kept a few
 * minutes (a check a minute need not read the secret each time); a rotated password is picked up
 * when the kept answer expires.
 */
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { AuroraTarget } from '../../core/config.ts';
import type { CredentialSource, DbCredentials } from '../db/session-check.ts';
import { SessionCheckError } from '../db/session-check.ts';
import { AWS_CLIENT_SETTINGS } from './runtime.ts';
import { errorWithName } from '../../core/error-text.ts';

/** How long a secret's answer is kept. */
export const SECRET_CACHE_MS = 5 * 60_000;

/** One client per region (a secret's ARN names its region), created once. */
const clients = new Map<string, SecretsManagerClient>();
const clientFor = (region: string) => {
  let c = clients.get(region);
  if (!c) {
    c = new SecretsManagerClient({ ...AWS_CLIENT_SETTINGS, region });
    clients.set(region, c);
  }
  return c;
};

/** The credential source of the Lambda functions. `client` replaces the per-region clients (tests). */
export function secretCredentials(opts: { client?: SecretsManagerClient; now?: () => number } = {}): CredentialSource {
  const now = opts.now ?? Date.now;
  const kept = new Map<string, { until: number; creds: { username: string; password: string } }>();
  return async (t: AuroraTarget): Promise<DbCredentials> => {
    const arn = t.login?.secretArn;
    if (!arn) throw new SessionCheckError(`${t.name}: "login.secretArn" is needed for the session check in Lambda`);
    let entry = kept.get(arn);
    if (!entry || entry.until <= now()) {
      const region = arn.split(':')[3]!;
      let text: string | undefined;
      try {
        text = (await (opts.client ?? clientFor(region)).send(new GetSecretValueCommand({ SecretId: arn }))).SecretString;
      } catch (err) {
        throw new SessionCheckError(`${t.name}: cannot read ${arn}: ${errorWithName(err)}`, { cause: err });
      }
      entry = { until: now() + SECRET_CACHE_MS, creds: parseSecret(t.name, arn, text) };
      kept.set(arn, entry);
    }
    return { user: t.login?.user ?? entry.creds.username, password: entry.creds.password };
  };
}

function parseSecret(target: string, arn: string, text: string | undefined): { username: string; password: string } {
  let value: unknown;
  try {
    value = JSON.parse(text ?? '');
  } catch {
    throw new SessionCheckError(`${target}: ${arn} is not a JSON secret {"username", "password"} (a binary or plain-text secret?)`);
  }
  const v = value as { username?: unknown; password?: unknown };
  if (typeof v.username !== 'string' || typeof v.password !== 'string')
    throw new SessionCheckError(`${target}: ${arn} has no string "username" and "password"`);
  return { username: v.username, password: v.password };
}
