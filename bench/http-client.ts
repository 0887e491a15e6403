/**
 * Why the HTTP probe speaks HTTP itself: the CPU of one fresh-connection GET with Node's `http`
 * client, with undici (a Client per probe, as a probe must not reuse a connection), and with
 * the probe's own wire reader (src/core/probe/http-wire.ts), beside the floor (a bare socket that
 * connects, writes and hangs up at the first byte). The listeners run in a child
 * process, so only the client's CPU is counted. Rounds of ROUND probes, all at once (as a
 * check sends them), interleaved so machine noise hits every client alike. Loopback only.
 *
 *   npx tsx bench/http-client.ts [ROUNDS]
 */
import { spawn } from 'node:child_process';
import { request as httpRequest } from 'node:http';
import { once } from 'node:events';
import { connect as netConnect } from 'node:net';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { Client } from 'undici';
import { httpGet } from '../src/core/probe/http-common.ts';

const ROUNDS = Number(process.argv[2] ?? 7);
/** Probes per round: workload A's 500. */
const ROUND = 500;
/** Listener addresses: 127.4.0.1 .. 127.4.0.LISTENERS. */
const LISTENERS = 100;
const PATH = '/health';
const BODY_CAP = 4096;

/** The listeners: plain node http servers answering 200 "ok", one per address. Prints "addr port" lines, then "ready". */
const SERVER = `
const http = require('node:http');
let left = ${LISTENERS};
for (let i = 1; i <= ${LISTENERS}; i++) {
  const s = http.createServer((req, res) => { res.writeHead(200, { server: 'bench', 'content-length': 2 }); res.end('ok'); });
  s.listen(0, '127.4.0.' + i, () => { console.log('127.4.0.' + i + ' ' + s.address().port); if (--left === 0) console.log('ready'); });
}
process.stdin.on('end', () => process.exit(0)); process.stdin.resume();
`;

type Get = (host: string, port: number) => Promise<number>;

const nodeHttp: Get = (host, port) =>
  new Promise((resolve, reject) => {
    const req = httpRequest({ host, port, path: PATH, agent: false, headers: { Connection: 'close', 'User-Agent': 'bench' } }, (res) => {
      res.on('data', () => undefined);
      res.once('end', () => resolve(res.statusCode ?? 0));
      res.once('error', reject);
    });
    req.once('error', reject);
    req.end();
  });

const undici: Get = async (host, port) => {
  const client = new Client(`http://${host}:${port}`, { pipelining: 0 });
  try {
    const res = await client.request({ path: PATH, method: 'GET', headers: { 'user-agent': 'bench', connection: 'close' } });
    await res.body.text();
    return res.statusCode;
  } finally {
    await client.destroy();
  }
};

const wire: Get = async (host, port) => {
  const r = await httpGet({ connect: host, port, host, path: PATH, secure: false, maxBodyBytes: BODY_CAP }, new AbortController().signal);
  return r.status ?? 0;
};

/** The floor: connect, write the request, take the first bytes, hang up (no parsing, no signal). */
const floor: Get = (host, port) =>
  new Promise((resolve, reject) => {
    const socket = netConnect({ host, port }, () => socket.write(`GET ${PATH} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`));
    socket.once('data', (b: Buffer) => {
      socket.destroy();
      resolve(Number(b.toString('latin1', 9, 12)));
    });
    socket.once('error', reject);
  });

const CLIENTS = { 'node:http': nodeHttp, 'undici Client': undici, 'ipdrift wire': wire, 'net floor': floor } as const;
type Name = keyof typeof CLIENTS;

async function main(): Promise<void> {
  const server = spawn(process.execPath, ['-e', SERVER], { stdio: ['pipe', 'pipe', 'inherit'] });
  const targets: { host: string; port: number }[] = [];
  const lines = createInterface({ input: server.stdout! });
  const ready = new Promise<void>((resolve) =>
    lines.on('line', (line) => {
      if (line === 'ready') return resolve();
      const [host, port] = line.split(' ');
      targets.push({ host: host!, port: Number(port) });
    }),
  );
  await Promise.race([ready, once(server, 'exit').then(() => Promise.reject(new Error('listener process exited')))]);
  const figures: Record<Name, { cpuUs: number[]; wallMs: number[] }> = {
    'node:http': { cpuUs: [], wallMs: [] },
    'undici Client': { cpuUs: [], wallMs: [] },
    'ipdrift wire': { cpuUs: [], wallMs: [] },
    'net floor': { cpuUs: [], wallMs: [] },
  };
  try {
    // One warm-up round each (JIT), then the measured rounds.
    for (let round = 0; round <= ROUNDS; round++) {
      for (const name of Object.keys(CLIENTS) as Name[]) {
        const get = CLIENTS[name];
        const c0 = process.cpuUsage();
        const t0 = performance.now();
        const statuses = await Promise.all(Array.from({ length: ROUND }, (_, i) => get(targets[i % targets.length]!.host, targets[i % targets.length]!.port)));
        const wallMs = performance.now() - t0;
        const c = process.cpuUsage(c0);
        const bad = statuses.filter((s) => s !== 200).length;
        if (bad > 0) throw new Error(`${name}: ${bad} of ${ROUND} probes did not get 200`);
        if (round > 0) {
          figures[name].cpuUs.push((c.user + c.system) / ROUND);
          figures[name].wallMs.push(wallMs);
        }
      }
    }
  } finally {
    server.stdin!.end();
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const base = median(figures['node:http'].cpuUs);
  console.log(`HTTP client CPU per fresh-connection GET, ${ROUND} at once, median of ${ROUNDS} rounds, Node ${process.version} (client process only):`);
  for (const name of Object.keys(CLIENTS) as Name[]) {
    const cpu = median(figures[name].cpuUs);
    console.log(
      `  ${name.padEnd(14)} ${cpu.toFixed(0).padStart(5)} us/probe  (${(cpu / base).toFixed(2)}x node:http)   round wall ${median(figures[name].wallMs).toFixed(0)} ms`,
    );
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
