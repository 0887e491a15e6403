/** One bounded JSON POST, shared by the webhook and Alertmanager sinks (Node's fetch: undici). */
import { USER_AGENT } from '../../../core/probe/http-common.ts';
import { errorMessage } from '../../../core/error-text.ts';
import { DeliveryError } from './types.ts';

/** Characters of a refusal's body quoted in the error (receivers say why in it). */
const REFUSAL_TEXT_CHARS = 200;

/**
 * HTTP statuses that say "this notice, never" (it is malformed or too large for the receiver).
 * Any other refusal (401, 403 and 404 after a key rotation or a redeploy, 429, 5xx) is the
 * receiver's state, not the notice's: the queue waits for it.
 */
const REFUSES_THE_NOTICE = new Set([400, 413, 422]);

/**
 * The URL as errors and logs show it: its origin and "/..." for a path. Chat webhooks carry
 * their token in the path (Slack, Discord, Teams), and errors reach stderr and files.
 */
export function shownUrl(url: string): string {
  const u = new URL(url);
  return `${u.origin}${u.pathname === '/' && u.search === '' ? '/' : '/...'}`;
}

/**
 * POSTs `body` to `url` within `timeoutMs` (and `signal`); resolves on 2xx. A 400, 413 or 422 is
 * a permanent DeliveryError (this notice will never be accepted); anything else (another 4xx, a
 * 5xx, a redirect, no answer) is a transient one.
 */
export async function postJson(url: string, body: string, headers: Record<string, string>, timeoutMs: number, signal: AbortSignal): Promise<void> {
  const where = shownUrl(url);
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/json', 'user-agent': USER_AGENT, ...headers },
      // A redirect could take the notice (and its signature) somewhere the config never named.
      redirect: 'manual',
      signal: AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]),
    });
  } catch (err) {
    const why = (err as Error).name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : errorMessage((err as { cause?: unknown }).cause ?? err);
    throw new DeliveryError(`POST ${where}: ${why}`, false, { cause: err });
  }
  if (res.status >= 200 && res.status < 300) {
    await res.body?.cancel();
    return;
  }
  const text = (await res.text().catch(() => '')).replace(/\s+/g, ' ').trim().slice(0, REFUSAL_TEXT_CHARS);
  throw new DeliveryError(`POST ${where}: HTTP ${res.status}${text ? ` (${text})` : ''}`, REFUSES_THE_NOTICE.has(res.status));
}
