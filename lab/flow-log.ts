/**
 * The lab's VPC Flow Logs: every connection a lab node sees becomes one record in real flow log
 * text, in the documented default format (version 2) or a custom version 5 one, appended to a
 * file the `flowLogs: {"source": "file"}` config reads. The lab stands for flow logs captured on
 * the client's network interface (the only place a flow to a released address is captured):
 * `interface-id` is a fake ENI id derived from the client's address, `instance-id` absent.
 */
import { appendFileSync } from 'node:fs';
import { DEFAULT_FLOW_FORMAT, parseFlowFormat } from '../src/core/flow-log.ts';
import type { FlowField } from '../src/core/flow-log.ts';

/** A custom version 5 format, as a user might choose (the packet addresses and the direction). */
export const LAB_V5_FORMAT =
  // biome-ignore lint/suspicious/noTemplateCurlyInString: AWS's flow log format syntax (${field}), not a template
  '${version} ${account-id} ${interface-id} ${instance-id} ${srcaddr} ${dstaddr} ${srcport} ${dstport} ${protocol} ${packets} ${bytes} ${start} ${end} ${action} ${log-status} ${pkt-srcaddr} ${pkt-dstaddr} ${flow-direction}';

const LAB_ACCOUNT = '123456789012';
const TCP = 6;

/** The fake ENI id of a client address (stable, 17 hex digits like a real one). */
export function labInterfaceOf(address: string): string {
  let h = 0n;
  for (const c of address) h = (h * 131n + BigInt(c.charCodeAt(0))) % 16n ** 17n;
  return `eni-${h.toString(16).padStart(17, '0')}`;
}

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
}

/** Appends one record per flow to `path`, in `format`. */
export class LabFlowLog {
  readonly #fields: FlowField[];
  /** Records written. */
  written = 0;

  constructor(
    readonly path: string,
    readonly format: string = DEFAULT_FLOW_FORMAT,
  ) {
    this.#fields = parseFlowFormat(format);
  }

  /** The record line of one flow. */
  line(f: LabFlow): string {
    const start = Math.floor(f.at / 1000);
    const values: Record<string, string | number> = {
      version: this.#fields.some((x) => x.startsWith('pkt-') || x === 'flow-direction' || x === 'instance-id') ? 5 : 2,
      'account-id': LAB_ACCOUNT,
      'interface-id': labInterfaceOf(f.srcaddr),
      'instance-id': '-',
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
      'pkt-srcaddr': f.srcaddr,
      'pkt-dstaddr': f.dstaddr,
      'flow-direction': 'egress',
    };
    return this.#fields.map((k) => String(values[k] ?? '-')).join(' ');
  }

  /** Writes one flow (synchronously: the record exists before the check that looks for it). */
  record(f: LabFlow): void {
    appendFileSync(this.path, `${this.line(f)}\n`);
    this.written++;
  }
}
