/** The sinks of a config's `notify`, one factory per type (a new type: a file and a line here). */
import type { Config, NotifyConfig } from '../../../core/config.ts';
import { sinkNameOf } from '../../../core/config.ts';
import { alertmanagerSink } from './alertmanager.ts';
import { execSink } from './exec.ts';
import type { Sink } from './types.ts';
import { webhookSink } from './webhook.ts';

/** What a factory may need beyond its config: the content of its secret file. */
export interface SinkSecrets {
  /** `secretFile` path -> its content (read by the caller, once, at start). */
  get(path: string): string | undefined;
}

const FACTORIES: { [T in NotifyConfig['type']]: (cfg: Extract<NotifyConfig, { type: T }>, name: string, secrets: SinkSecrets) => Sink } = {
  webhook: (cfg, name, secrets) => webhookSink(cfg, name, cfg.secretFile === undefined ? undefined : secrets.get(cfg.secretFile)),
  exec: (cfg, name) => execSink(cfg, name),
  alertmanager: (cfg, name) => alertmanagerSink(cfg, name),
};

/** The config's sinks, in order. */
export function sinksOf(config: Pick<Config, 'notify'>, secrets: SinkSecrets): Sink[] {
  return (config.notify ?? []).map((n, i) => (FACTORIES[n.type] as (cfg: NotifyConfig, name: string, s: SinkSecrets) => Sink)(n, sinkNameOf(n, i), secrets));
}

/** The secret files the config names (read them before the first check: a missing one is a usage error). */
export const secretFilesOf = (config: Pick<Config, 'notify'>) =>
  (config.notify ?? []).flatMap((n) => (n.type === 'webhook' && n.secretFile !== undefined ? [n.secretFile] : []));
