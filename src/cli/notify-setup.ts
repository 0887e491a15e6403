/** check and watch's delivery: the config's sinks (their secret files read once, at start) and the state directory's outbox. */
import type { Config } from '../core/config.ts';
import type { AlertTransition } from '../core/types.ts';
import { DeliveryNotifier } from '../adapters/local/notify/delivery.ts';
import { Outbox } from '../adapters/local/notify/outbox.ts';
import { secretFilesOf, sinksOf } from '../adapters/local/notify/registry.ts';
import { systemClock } from './clock.ts';
import { readSecretFile } from './secret-file.ts';

/** The notifier check and watch run the engine with: prints each transition, queues it for the sinks. */
export async function cliDelivery(config: Config, stateDir: string, usage: string, print: (t: AlertTransition) => void): Promise<DeliveryNotifier> {
  const secrets = new Map<string, string>();
  for (const path of secretFilesOf(config)) if (!secrets.has(path)) secrets.set(path, await readSecretFile(path, 'notify secretFile', usage));
  return new DeliveryNotifier(sinksOf(config, secrets), new Outbox(stateDir), systemClock, print);
}
