import { afterEach, describe, expect, it } from 'vitest';
import { LIMITS } from '../../src/core/constants.ts';
import { runProbe } from '../../src/core/probe/run.ts';
import { probeTcp } from '../../src/core/probe/tcp.ts';
import type { ProbeSpec } from '../../src/core/probe/types.ts';
import { Loopback } from './probe-servers.ts';

const TIMEOUT_MS = 200;
const spec = (port: number): ProbeSpec => ({ protocol: 'tcp', host: 'app.internal', port, path: '/', maxBodyBytes: LIMITS.maxBodyBytes });

describe('tcp probe', () => {
  const lo = new Loopback();
  afterEach(() => lo.close());

  it('is ok when the address accepts the connection', async () => {
    // Prepare
    const port = await lo.swallow('127.0.0.2');
    // Act
    const r = await runProbe('127.0.0.2', spec(port), { timeoutMs: TIMEOUT_MS });
    // Assess
    expect(r).toMatchObject({ ok: true, address: '127.0.0.2', port, protocol: 'tcp' });
    expect(r.error).toBeUndefined();
    expect(r.latencyMs).toBeGreaterThanOrEqual(0);
    expect(r.latencyMs).toBeLessThan(TIMEOUT_MS);
  });

  it('reports refused for a closed port, naming the endpoint', async () => {
    // Prepare
    const port = await lo.closedPort('127.0.0.9');
    // Act
    const r = await runProbe('127.0.0.9', spec(port), { timeoutMs: TIMEOUT_MS });
    // Assess
    expect(r.ok).toBe(false);
    expect(r.error).toEqual({ code: 'refused', message: `connection refused by 127.0.0.9:${port}` });
  });

  it('stops connecting and rejects when its signal aborts', async () => {
    // Prepare: on loopback a live listener always completes the handshake at once, so a TCP
    // "timeout" is the probe honouring its signal; the runner's timeout path is shared with
    // the TLS and HTTP probes, which are tested against swallow listeners.
    const port = await lo.swallow();
    const controller = new AbortController();
    const stop = new Error('stop');
    // Act
    const pending = probeTcp('127.0.0.1', spec(port), controller.signal);
    controller.abort(stop);
    // Assess
    await expect(pending).rejects.toBe(stop);
  });
});
