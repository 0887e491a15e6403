/**
 * `webhook`: each notice POSTed as JSON (payload.ts), tried `attempts` times with a short backoff.
 * With a secret, `X-Ipdrift-Signature: sha256=<hex>` is the HMAC-SHA256 of the exact body (as
 * GitHub signs its webhooks), so a receiver can tell ipdrift's notices from anyone's.
 */
import { createHmac } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { NotifyConfig } from '../../../core/config.ts';
import { postJson } from './http-post.ts';
import { noticeDocument } from './payload.ts';
import { DeliveryError, destinationOf, hears } from './types.ts';
import type { Delivery, Sink } from './types.ts';

type WebhookConfig = Extract<NotifyConfig, { type: 'webhook' }>;

/** Backoff between tries within one check: 250 ms, 500 ms, 1 s... at most 2 s. */
const BACKOFF = { firstMs: 250, maxMs: 2000 } as const;

/** The headers a receiver reads: which notice (for deduplication), which transition, and the signature. */
export const WEBHOOK_HEADERS = { delivery: 'x-ipdrift-delivery', event: 'x-ipdrift-event', signature: 'x-ipdrift-signature' } as const;

/** `sha256=<hex>` of `body` under `secret`. */
export const signatureOf = (secret: string, body: string) => `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;

/** A webhook sink; `secret` is the content of `secretFile` (read once, at start). */
export function webhookSink(cfg: WebhookConfig, name: string, secret: string | undefined): Sink {
  return {
    name,
    destination: destinationOf('webhook', new URL(cfg.url).origin),
    wants: (t) => hears(cfg.audience, t),
    async deliver(d: Delivery, signal: AbortSignal) {
      const body = JSON.stringify(noticeDocument(d));
      const headers: Record<string, string> = { [WEBHOOK_HEADERS.delivery]: d.id, [WEBHOOK_HEADERS.event]: d.transition.type };
      if (secret !== undefined) headers[WEBHOOK_HEADERS.signature] = signatureOf(secret, body);
      for (let attempt = 1; ; attempt++) {
        try {
          return await postJson(cfg.url, body, headers, cfg.timeoutMs, signal);
        } catch (err) {
          if (!(err instanceof DeliveryError) || err.permanent || attempt >= cfg.attempts || signal.aborted) throw err;
          await sleep(Math.min(BACKOFF.firstMs * 2 ** (attempt - 1), BACKOFF.maxMs), undefined, { signal }).catch(() => undefined);
        }
      }
    },
  };
}
