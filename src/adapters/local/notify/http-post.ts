/** One bounded JSON POST, shared by the webhook and Alertmanager sinks (Node's fetch: undici). */
import { USER_AGENT } from '../../../core/probe/http-common.ts';
import { errorMessage } from '../../../core/error-text.ts';
import { DeliveryError } from './types.ts';

/** Characters of a refusal's body quoted in the error (receivers say why in it). */
const REFUSAL_TEXT_CHARS = 200;

/** HTTP statuses that say "later" rather than "never": the notice is retried. */
const RETRYABLE_4XX = new Set([408, 425, 429]);

/**
 * POSTs `body` to `url` within `timeoutMs` (and `signal`); resolves on 2xx. A 4xx other than
 * 408/425/429 is a permanent DeliveryError (this notice will never be accepted); anything else
 * (5xx, a redirect, no answer) is a transient one.
 */
export async function postJson(url: string, body: string, headers: Record<string, string>, timeoutMs: number, signal: AbortSignal): Promise<void> {
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
    throw new DeliveryError(`POST ${url}: ${why}`, false, { cause: err });
  }
  if (res.status >= 200 && res.status < 300) {
    await res.body?.cancel();
    return;
  }
  const text = (await res.text().catch(() => '')).replace(/\s+/g, ' ').trim().slice(0, REFUSAL_TEXT_CHARS);
  const permanent = res.status >= 400 && res.status < 500 && !RETRYABLE_4XX.has(res.status);
  throw new DeliveryError(`POST ${url}: HTTP ${res.status}${text ? ` (${text})` : ''}`, permanent);
}
