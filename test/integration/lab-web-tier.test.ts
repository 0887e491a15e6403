/**
 * Lab web tiers in front of an upstream name that moves: the incident, reproduced by changing
 * DNS records by hand. Addresses: DNS 127.0.0.120, ELB nodes .121 (retired) and .122 (new),
 * tiers .123 (stale, httpd <= 2.4.58), .124 (fresh) and .125 (pooled); .126 an upstream that resets
 * a reused connection.
 */
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { Socket } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Lab } from '../../lab/index.ts';
import type { LabNode, LabWebTier } from '../../lab/index.ts';
import { WEB_TIER_SERVER_HEADERS, WEB_TIER_UPSTREAM_HEADER } from '../../lab/web-tier.ts';
import { labGet, waitFor } from '../../lab/client.ts';

const HOSTS = {
  dns: '127.0.0.120',
  oldNode: '127.0.0.121',
  newNode: '127.0.0.122',
  stale: '127.0.0.123',
  fresh: '127.0.0.124',
  pooled: '127.0.0.125',
  closing: '127.0.0.126',
} as const;
const UPSTREAM = 'internal-app.elb.lab.test';
/** Short TTL so the fresh tier follows within about a second. */
const TTL_S = 1;
/** Stands for httpd's proxy timeout, much shorter. */
const UPSTREAM_TIMEOUT_MS = 300;
/** Bound for "the fresh tier follows": one TTL plus slack for a loaded machine. */
const FOLLOW_WITHIN_MS = 3000;

let lab: Lab;
let oldNode: LabNode;
let newNode: LabNode;

function tier(mode: 'stale' | 'fresh', extra: { upstreamTimeoutMs?: number; serverHeader?: string } = {}): Promise<LabWebTier> {
  return lab.startWebTier({ host: HOSTS[mode], upstreamHost: UPSTREAM, upstreamPort: oldNode.port, mode, upstreamTimeoutMs: UPSTREAM_TIMEOUT_MS, ...extra });
}

const whoami = async (t: LabWebTier) => (await labGet(`${t.url}/whoami`)).body;

beforeEach(async () => {
  lab = await Lab.start({ dns: { host: HOSTS.dns } });
  oldNode = await lab.startNode({ host: HOSTS.oldNode, name: 'elb-node-old' });
  // Same port on another address, as ELB nodes listen on the listener's port.
  newNode = await lab.startNode({ host: HOSTS.newNode, port: oldNode.port, name: 'elb-node-new' });
  lab.dns.setA(UPSTREAM, [HOSTS.oldNode], TTL_S);
});

afterEach(async () => {
  await lab.stop();
});

describe('web tier vs. a moving upstream name', () => {
  it('the stale tier keeps the first address; the fresh one follows DNS within about a TTL', async () => {
    // Prepare
    const stale = await tier('stale');
    const fresh = await tier('fresh');
    expect([await whoami(stale), await whoami(fresh)]).toEqual([HOSTS.oldNode, HOSTS.oldNode]);

    // Act: the ELB's node is replaced; AWS changes the record.
    lab.dns.setA(UPSTREAM, [HOSTS.newNode], TTL_S);
    const moved = performance.now();
    await waitFor(async () => (await whoami(fresh)) === HOSTS.newNode, { timeoutMs: FOLLOW_WITHIN_MS, what: 'fresh tier on the new node' });
    const followedMs = performance.now() - moved;
    const staleSeen = [await whoami(stale), await whoami(stale), await whoami(stale)];

    // Assess
    expect(followedMs).toBeLessThan(FOLLOW_WITHIN_MS);
    expect(fresh.currentAddresses()).toEqual([HOSTS.newNode]);
    expect(fresh.lookups).toBeGreaterThanOrEqual(2);
    expect(staleSeen).toEqual([HOSTS.oldNode, HOSTS.oldNode, HOSTS.oldNode]);
    expect(stale.currentAddresses()).toEqual([HOSTS.oldNode]);
    expect(stale.lookups).toBe(1);
    expect(newNode.requests).toBeGreaterThan(0);
  });

  it('once the retired address swallows, the stale tier answers 504 after its timeout while the fresh one is fine', async () => {
    // Prepare
    const stale = await tier('stale');
    const fresh = await tier('fresh');
    lab.dns.setA(UPSTREAM, [HOSTS.newNode], TTL_S);

    // Act: AWS released the old address; connections are accepted and never answered.
    await oldNode.setMode('swallow');
    const stalled = await labGet(`${stale.url}/health`);
    const healthy = await waitFor(
      async () => {
        const r = await labGet(`${fresh.url}/health`);
        return r.status === 200 && r;
      },
      { timeoutMs: FOLLOW_WITHIN_MS, what: 'fresh tier healthy' },
    );

    // Assess: the endpoint is healthy, the web tier is not: the stale-cache signature.
    expect(stalled.status).toBe(504);
    expect(stalled.ms).toBeGreaterThanOrEqual(UPSTREAM_TIMEOUT_MS - 5);
    expect(stalled.ms).toBeLessThan(UPSTREAM_TIMEOUT_MS + 1000);
    expect(stalled.headers.server).toBe(WEB_TIER_SERVER_HEADERS.stale);
    expect(stalled.headers[WEB_TIER_UPSTREAM_HEADER]).toBe(`${HOSTS.oldNode}:${oldNode.port}`);
    expect(healthy.headers[WEB_TIER_UPSTREAM_HEADER]).toBe(`${HOSTS.newNode}:${newNode.port}`);
    expect(healthy.body).toBe('ok');
  });

  it('answers 502 when the held address refuses connections', async () => {
    // Prepare
    const stale = await tier('stale');
    lab.dns.setA(UPSTREAM, [HOSTS.newNode], TTL_S);

    // Act
    await oldNode.setMode('refuse');
    const refused = await labGet(`${stale.url}/whoami`);

    // Assess
    expect(refused.status).toBe(502);
    expect(refused.body).toContain('ECONNREFUSED');
  });
});

describe('web tier proxying', () => {
  it('round-robins over the addresses it holds and copies status, body and its own Server header', async () => {
    // Prepare
    lab.dns.setA(UPSTREAM, [HOSTS.oldNode, HOSTS.newNode], TTL_S);
    const stale = await tier('stale');
    const fresh = await tier('fresh', { serverHeader: 'HAProxy-lab' });

    // Act
    const seen = [await whoami(stale), await whoami(stale), await whoami(stale), await whoami(stale)];
    const page = await labGet(`${fresh.url}/orders`);

    // Assess
    expect(new Set(seen)).toEqual(new Set([HOSTS.oldNode, HOSTS.newNode]));
    expect(seen[0]).not.toBe(seen[1]);
    expect(page.status).toBe(200);
    expect(page.body).toMatch(/^elb-node-(old|new) GET \/orders/);
    expect(page.headers.server).toBe('HAProxy-lab');
  });

  it('answers 502 while the name does not resolve, then holds the first answer it gets', async () => {
    // Prepare
    lab.dns.remove(UPSTREAM);
    const stale = await tier('stale');

    // Act
    const before = await labGet(`${stale.url}/whoami`);
    lab.dns.setA(UPSTREAM, [HOSTS.oldNode], TTL_S);
    const first = await whoami(stale);
    lab.dns.setA(UPSTREAM, [HOSTS.newNode], TTL_S);
    const later = await whoami(stale);

    // Assess
    expect(before.status).toBe(502);
    expect(before.body).toContain('ENOTFOUND');
    expect([first, later]).toEqual([HOSTS.oldNode, HOSTS.oldNode]);
  });

  it('stop() ends in-flight upstream requests instead of waiting for their timeout', async () => {
    // Prepare: a long proxy timeout, so only stop() can end the request quickly.
    await oldNode.setMode('swallow');
    const stale = await tier('stale', { upstreamTimeoutMs: 10_000 });
    const pending = labGet(`${stale.url}/health`, 5000);
    await waitFor(() => oldNode.accepted > 0, { what: 'upstream connection' });

    // Act
    const started = performance.now();
    await stale.stop();
    const outcome = await pending.then(
      (r) => r.status,
      (err: NodeJS.ErrnoException) => err.code,
    );

    // Assess
    expect(performance.now() - started).toBeLessThan(1000);
    expect(outcome).toBe('ECONNRESET');
  });

  it('pooled: a request reset on a reused connection is sent once more on a new connection, never on another pooled one', async () => {
    // Prepare: an upstream that answers each connection's first request (keep-alive) and resets the
    // connection when a second one arrives on it: the race of a node closing an idle connection just
    // as the proxy reuses it. Two requests at once leave two idle connections in the tier's pool.
    const connections = new Set<Socket>();
    const upstream = createServer((req, res) => {
      const socket = req.socket as Socket & { served?: number };
      socket.served = (socket.served ?? 0) + 1;
      if (socket.served > 1) return socket.resetAndDestroy();
      res.end('ok');
    });
    upstream.on('connection', (c: Socket) => connections.add(c));
    upstream.listen(0, HOSTS.closing);
    await once(upstream, 'listening');
    const port = (upstream.address() as { port: number }).port;
    lab.dns.setA(UPSTREAM, [HOSTS.closing], 60);
    const pooled = await lab.startWebTier({ host: HOSTS.pooled, upstreamHost: UPSTREAM, upstreamPort: port, mode: 'pooled', upstreamTimeoutMs: 2000 });
    try {
      const warm = await Promise.all([labGet(`${pooled.url}/a`), labGet(`${pooled.url}/b`)]);
      expect(warm.map((r) => r.status)).toEqual([200, 200]);
      expect(connections.size).toBe(2);

      // Act: the next request rides a pooled connection, which the upstream resets.
      const r = await labGet(`${pooled.url}/c`);

      // Assess: answered on a third, new connection (a retry on the other pooled one would be reset too: 502).
      expect([r.status, r.body]).toEqual([200, 'ok']);
      expect(connections.size).toBe(3);
    } finally {
      upstream.closeAllConnections();
      upstream.close();
    }
  });
});
