/**
 * The `Lab` convenience class: one stop() for everything, idempotent, no handle left behind.
 * Addresses: 127.0.0.140-127.0.0.143.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Resolver } from 'node:dns/promises';
import { Lab, labGet, waitFor } from '../../lab/index.ts';

const HOSTS = { dns: '127.0.0.140', node: '127.0.0.141', swallow: '127.0.0.142', tier: '127.0.0.143' } as const;
const NAME = 'app.lab.test';
const NET_HANDLES = new Set(['TCPServerWrap', 'TCPSocketWrap', 'UDPWrap']);

/** Open network handles of this process (servers, sockets, UDP). */
const netHandles = () => process.getActiveResourcesInfo().filter((r) => NET_HANDLES.has(r)).length;

let lab: Lab | undefined;

afterEach(async () => {
  await lab?.stop();
  lab = undefined;
});

describe('Lab', () => {
  it('wires tiers to its own DNS server and stops every part, leaving no network handle', async () => {
    // Prepare
    const baseline = netHandles();
    lab = await Lab.start({ dns: { host: HOSTS.dns } });
    const node = await lab.startNode({ host: HOSTS.node });
    const sink = await lab.startSwallow(HOSTS.swallow);
    lab.dns.setA(NAME, [HOSTS.node], 1);
    const tier = await lab.startWebTier({ host: HOSTS.tier, upstreamHost: NAME, upstreamPort: node.port, mode: 'fresh' });
    const through = await labGet(`${tier.url}/whoami`);

    // Act
    await lab.stop();
    await lab.stop();

    // Assess
    expect(through.body).toBe(HOSTS.node);
    await waitFor(() => netHandles() <= baseline, { timeoutMs: 1000, what: 'network handles released' });
    for (const url of [`${tier.url}/`, `http://${node.address}/`, `http://${sink.address}/`]) {
      await expect(labGet(url, 500)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    }
    const resolver = new Resolver({ timeout: 100, tries: 1 });
    resolver.setServers([lab.dns.address]);
    await expect(resolver.resolve4(NAME)).rejects.toMatchObject({ code: expect.stringMatching(/^(ECONNREFUSED|ETIMEOUT)$/) });
  });

  it('refuses new parts once stopped', async () => {
    // Prepare
    lab = await Lab.start({ dns: { host: HOSTS.dns } });
    await lab.stop();

    // Act
    const starting = lab.startNode({ host: HOSTS.node });

    // Assess
    await expect(starting).rejects.toThrow(/stopped/);
  });
});
