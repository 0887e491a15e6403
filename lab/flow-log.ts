/**
 * The lab's VPC Flow Logs: every connection a lab node sees becomes records in real flow log
 * text, in the documented default format (version 2) or a custom version 5 one, appended to a
 * file the `flowLogs: {"source": "file"}` config reads. As a flow log on a whole VPC writes it
 * (Flow log records, "Available fields": `interface-id` is the interface the traffic is recorded
 * for, `flow-direction` is relative to it), one connection is recorded twice: egress at the
 * client's interface (its `instance-id` when it is an instance) and ingress at the ELB node's
 * (no instance). A client outside the VPC (`peered`: a peered VPC, on premises) has no interface
 * here: only the node's record names it. Interface ids are fake ENI ids derived from the address.
 */
import { appendFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { plainIPv4 } from './loopback.ts';
import { DEFAULT_FLOW_FORMAT, parseFlowFormat } from '../src/core/flow-log.ts';
import type { FlowField } from '../src/core/flow-log.ts';

/** A custom version 5 format, as a user might choose (the TCP flags, the packet addresses and the direction). */
export const LAB_V5_FORMAT =
  // biome-ignore lint/suspicious/noTemplateCurlyInString: AWS's flow log format syntax (${field}), not a template
  '${version} ${account-id} ${interface-id} ${instance-id} ${srcaddr} ${dstaddr} ${srcport} ${dstport} ${protocol} ${packets} ${bytes} ${start} ${end} ${action} ${log-status} ${tcp-flags} ${pkt-srcaddr} ${pkt-dstaddr} ${flow-direction}';

const LAB_ACCOUNT = '123456789012';
/** `tcp-flags` values the lab writes: a connection opened (SYN) in the interval, or only ridden (ACK). */
export const LAB_TCP_FLAGS = { syn: 2, ack: 16 } as const;
const TCP = 6;

/** 17 hex digits derived from a lab address, stable, like a real resource id's. */
function labIdOf(address: string): string {
  let h = 0n;
  for (const c of address) h = (h * 131n + BigInt(c.charCodeAt(0))) % 16n ** 17n;
  return h.toString(16).padStart(17, '0');
}

/** The fake ENI id of a lab address. */
export const labInterfaceOf = (address: string) => `eni-${labIdOf(address)}`;
/** The fake EC2 instance id of a lab host that stands for an instance. */
export const labInstanceOf = (address: string) => `i-${labIdOf(address)}`;

/** One connection a node saw. */
export interface LabFlow {
  srcaddr: string;
  srcport: number;
  dstaddr: string;
  dstport: number;
  /** Epoch ms. */
  at: number;
  packets?: number;
  bytes?: number;
  /** `tcp-flags`: SYN (2) for a connection opened in the interval (the default), ACK (16) for one only ridden. */
  tcpFlags?: number;
}

/** Appends one record per flow to `path`, in `format`. */
export class LabFlowLog {
  readonly #fields: FlowField[];
  /** Records written. */
  written = 0;

  constructor(
    readonly path: string,
    readonly format: string = DEFAULT_FLOW_FORMAT,
    readonly hosts: {
      /** Lab hosts that stand for EC2 instances: address -> instance id. */
      instances?: ReadonlyMap<string, string>;
      /** Sources outside the VPC: recorded only at the node's interface. */
      peered?: ReadonlySet<string>;
    } = {},
  ) {
    this.#fields = parseFlowFormat(format);
  }

  /** The record line of one flow, as captured at the client's interface (egress) or the node's (ingress). */
  line(f: LabFlow, at: 'client' | 'node' = 'client'): string {
    const start = Math.floor(f.at / 1000);
    const values: Record<string, string | number> = {
      version: this.#fields.some((x) => x.startsWith('pkt-') || x === 'flow-direction' || x === 'instance-id' || x === 'tcp-flags') ? 5 : 2,
      'account-id': LAB_ACCOUNT,
      'interface-id': labInterfaceOf(at === 'client' ? f.srcaddr : f.dstaddr),
      'instance-id': at === 'client' ? (this.hosts.instances?.get(f.srcaddr) ?? '-') : '-',
      srcaddr: f.srcaddr,
      dstaddr: f.dstaddr,
      srcport: f.srcport,
      dstport: f.dstport,
      protocol: TCP,
      packets: f.packets ?? 3,
      bytes: f.bytes ?? 180,
      start,
      end: start + 1,
      action: 'ACCEPT',
      'log-status': 'OK',
      'tcp-flags': f.tcpFlags ?? LAB_TCP_FLAGS.syn,
      'pkt-srcaddr': f.srcaddr,
      'pkt-dstaddr': f.dstaddr,
      'flow-direction': at === 'client' ? 'egress' : 'ingress',
    };
    return this.#fields.map((k) => String(values[k] ?? '-')).join(' ');
  }

  /**
   * Writes the flow of a connection a lab server accepted on `at` (its own address and port): SYN for
   * one it just accepted, ACK for one it still holds. A socket already gone has nothing to record.
   */
  recordSocket(socket: Socket, at: { host: string; port: number }, tcpFlags: number = LAB_TCP_FLAGS.syn): void {
    if (!socket.remoteAddress || !socket.remotePort) return;
    this.record({ srcaddr: plainIPv4(socket.remoteAddress), srcport: socket.remotePort, dstaddr: at.host, dstport: at.port, at: Date.now(), tcpFlags });
  }

  /** Writes one flow at both ends (synchronously: the records exist before the check that looks for them). */
  record(f: LabFlow): void {
    const lines = [...(this.hosts.peered?.has(f.srcaddr) ? [] : [this.line(f, 'client')]), this.line(f, 'node')];
    appendFileSync(this.path, `${lines.join('\n')}\n`);
    this.written += lines.length;
  }
}
