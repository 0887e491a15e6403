/**
 * ELB-like lab nodes: identity, health, and the two ways an address goes away
 * (refused, or accepted and never answered). Addresses: 127.0.0.110-127.0.0.113.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { once } from 'node:events';
import { LAB_NODE_SERVER_HEADER, startNode, startSwallow } from '../../lab/nodes.ts';
import type { LabNode } from '../../lab/nodes.ts';
import { labGet } from '../../lab/client.ts';

const HOSTS = { a: '127.0.0.110', b: '127.0.0.111', swallow: '127.0.0.112' } as const;
/** How long "never answers" is watched. */
const SILENCE_MS = 300;

const started: LabNode[] = [];
const clients: Socket[] = [];

async function node(host: string, name?: string): Promise<LabNode> {
  const n = await startNode({ host, name });
  started.push(n);
  return n;
}

async function connectTo(n: LabNode): Promise<Socket> {
  const socket = connect(n.port, n.host);
  clients.push(socket);
  socket.on('error', () => undefined); // stop() resets connections: expected here
  await once(socket, 'connect');
  return socket;
}

afterEach(async () => {
  for (const c of clients.splice(0)) c.destroy();
  await Promise.all(started.splice(0).map((n) => n.stop()));
});

describe('lab node serving', () => {
  it('answers /whoami with its own address, /health with ok, anything else with a small body', async () => {
    // Prepare
    const a = await node(HOSTS.a, 'node-a');
    const b = await node(HOSTS.b);

    // Act
    const whoamiA = await labGet(`http://${a.address}/whoami`);
    const whoamiB = await labGet(`http://${b.address}/whoami`);
    const health = await labGet(`http://${a.address}/health`);
    const other = await labGet(`http://${a.address}/orders?id=1`);

    // Assess
    expect(whoamiA).toMatchObject({ status: 200, body: HOSTS.a });
    expect(whoamiB.body).toBe(HOSTS.b);
    expect(health).toMatchObject({ status: 200, body: 'ok' });
    expect(health.headers.server).toBe(LAB_NODE_SERVER_HEADER);
    expect(other.status).toBe(200);
    expect(other.body).toContain('node-a GET /orders');
    expect(a.requests).toBe(3);
    expect(b.requests).toBe(1);
    expect(b.name).toBe(b.address);
  });

  it('refuse closes the port (ECONNREFUSED); serve reopens the same address and port', async () => {
    // Prepare
    const a = await node(HOSTS.a);
    const { port } = a;

    // Act
    await a.setMode('refuse');
    const refused = labGet(`http://${a.address}/health`);
    await expect(refused).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    await a.setMode('serve');
    const back = await labGet(`http://${a.address}/whoami`);

    // Assess
    expect(a.port).toBe(port);
    expect(back).toMatchObject({ status: 200, body: HOSTS.a });
  });

  it('swallow accepts the connection and never answers', async () => {
    // Prepare
    const a = await node(HOSTS.a);
    await a.setMode('swallow');

    // Act
    const socket = await connectTo(a);
    const silent = labGet(`http://${a.address}/health`, SILENCE_MS);

    // Assess: the TCP handshake succeeded, the HTTP request timed out unanswered.
    expect(socket.remoteAddress).toBe(HOSTS.a);
    await expect(silent).rejects.toMatchObject({ code: 'ETIMEDOUT' });
    expect(a.accepted).toBe(2);
    expect(a.requests).toBe(0);
  });

  it('a keep-alive connection opened while serving goes silent once the node swallows', async () => {
    // Prepare
    const a = await node(HOSTS.a);
    const socket = await connectTo(a);
    const replies: string[] = [];
    socket.on('data', (d: Buffer) => replies.push(d.toString()));
    socket.write(`GET /health HTTP/1.1\r\nHost: x\r\n\r\n`);
    await expect.poll(() => replies.join(''), { timeout: SILENCE_MS }).toContain('ok');

    // Act
    await a.setMode('swallow');
    socket.write(`GET /whoami HTTP/1.1\r\nHost: x\r\n\r\n`);
    await new Promise((r) => setTimeout(r, SILENCE_MS));

    // Assess
    expect(replies.join('')).not.toContain(HOSTS.a);
    expect(a.requests).toBe(1);
  });
});

describe('startSwallow and stop', () => {
  it('startSwallow holds connections open until stop, which ends them', async () => {
    // Prepare
    const sink = await startSwallow(HOSTS.swallow);
    started.push(sink);
    const socket = await connectTo(sink);
    socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    // Not events.once: it would reject on the reset that ends the connection.
    const closed = new Promise((resolve) => socket.once('close', resolve));

    // Act
    await sink.stop();
    await sink.stop();

    // Assess
    await closed;
    expect(sink.mode).toBe('swallow');
    expect(sink.accepted).toBe(1);
    await expect(labGet(`http://${sink.address}/`)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });

  it('refuses to bind outside 127.0.0.0/8', async () => {
    // Prepare
    const outside = { host: '0.0.0.0' };

    // Act
    const starting = startNode(outside);

    // Assess
    await expect(starting).rejects.toThrow(/loopback/);
  });
});
