/**
 * The benchmark's lab, in a process of its own so that its CPU and memory never count as the
 * engine's: one lab DNS server per set and one HTTP node per loopback address. Driven by the
 * orchestrator over the IPC channel (LabCommand -> LabReply); exits when the channel closes.
 */
import { LabDnsServer } from '../lab/dns-server.ts';
import { LabNode } from '../lab/nodes.ts';
import { ANY_PORT, ELB_TTL_SECONDS, addressOf, hostOf } from './common.ts';
import type { LabCommand, LabReply, LabSet, LabSetSpec, LabStats } from './common.ts';

/** Addresses a plain ELB name answers with (Route 53 caps ELB answers at 8; `all.` lists every one). */
const PLAIN_ANSWER_CAP = 8;
/** Listeners started at once: bounded so that 8,000 binds do not queue 8,000 promises at a time. */
const START_BATCH = 500;

interface RunningSet {
  set: LabSet;
  dns: LabDnsServer;
  nodes: Map<string, LabNode>;
}

const sets = new Map<string, RunningSet>();

async function startSet(spec: LabSetSpec): Promise<LabSet> {
  if (sets.has(spec.label)) throw new Error(`set ${spec.label} already running`);
  const dns = await LabDnsServer.start();
  const total = spec.targets * spec.addressesPerTarget;
  const nodes = new Map<string, LabNode>();
  try {
    // The first node picks a free port; every other address reuses it (an ELB target has one port).
    const first = await LabNode.start({ host: addressOf(spec.octet, 0), port: ANY_PORT });
    nodes.set(first.host, first);
    const port = first.port;
    for (let start = 1; start < total; start += START_BATCH) {
      const batch = Array.from({ length: Math.min(START_BATCH, total - start) }, (_, k) => addressOf(spec.octet, start + k));
      const started = await Promise.all(batch.map((host) => LabNode.start({ host, port })));
      for (const n of started) nodes.set(n.host, n);
    }
    const targets = Array.from({ length: spec.targets }, (_, i) => {
      const addresses = Array.from({ length: spec.addressesPerTarget }, (_, j) => addressOf(spec.octet, i * spec.addressesPerTarget + j));
      const host = hostOf(spec.label, i);
      // ipdrift asks `all.<name>` first: that is where an ELB lists every node.
      dns.setA(`all.${host}`, addresses, ELB_TTL_SECONDS);
      dns.setA(host, addresses.slice(0, PLAIN_ANSWER_CAP), ELB_TTL_SECONDS);
      return { name: `${spec.label.toLowerCase()}-${String(i).padStart(4, '0')}`, host, port, addresses };
    });
    const set: LabSet = { label: spec.label, dns: dns.address, port, targets };
    sets.set(spec.label, { set, dns, nodes });
    return set;
  } catch (err) {
    await Promise.all([...nodes.values()].map((n) => n.stop()));
    await dns.stop();
    throw err;
  }
}

function running(label: string): RunningSet {
  const s = sets.get(label);
  if (!s) throw new Error(`no set ${label}`);
  return s;
}

async function stopSet(label: string): Promise<void> {
  const s = running(label);
  sets.delete(label);
  await Promise.all([...s.nodes.values()].map((n) => n.stop()));
  await s.dns.stop();
}

function stats(): LabStats {
  const out: LabStats = { dnsQueries: 0, requests: 0, accepted: 0, openListeners: 0 };
  for (const s of sets.values()) {
    out.dnsQueries += s.dns.queryCount();
    for (const n of s.nodes.values()) {
      out.requests += n.requests;
      out.accepted += n.accepted;
      if (n.mode !== 'refuse') out.openListeners++;
    }
  }
  return out;
}

async function handle(msg: LabCommand): Promise<LabReply> {
  switch (msg.cmd) {
    case 'start-set':
      return { id: msg.id, ok: true, set: await startSet(msg.spec) };
    case 'set-mode': {
      const s = running(msg.label);
      await Promise.all(msg.addresses.map((a) => s.nodes.get(a)?.setMode(msg.mode)));
      return { id: msg.id, ok: true };
    }
    case 'stop-set':
      await stopSet(msg.label);
      return { id: msg.id, ok: true };
    case 'stats':
      return { id: msg.id, ok: true, stats: stats() };
  }
}

if (!process.send) {
  console.error('bench/lab-child: start me from bench/run.ts (needs an IPC channel)');
  process.exit(2);
}

process.on('message', (msg: LabCommand) => {
  handle(msg).then(
    (reply) => process.send!(reply),
    (err: unknown) => process.send!({ id: msg.id, ok: false, error: err instanceof Error ? err.message : String(err) } satisfies LabReply),
  );
});

// The orchestrator went away (finished, or crashed): never outlive it.
process.on('disconnect', () => {
  void Promise.all([...sets.keys()].map(stopSet)).finally(() => process.exit(0));
});
