/**
 * The lab's Route 53 Resolver query logs: every query the lab DNS server answers becomes one
 * log entry in the JSON shape AWS documents ("Route 53 VPC Resolver query log example";
 * test/fixtures/resolver-logs/docs-example.json), appended to a file the
 * `resolverLogs: {"source": "file"}` config reads. The server knows who asked (the query's
 * source address and port); `instances` names the lab hosts that stand for EC2 instances.
 * Unlike the real Resolver it has no cache, so it logs every query (AWS logs only the queries
 * it did not answer from its cache: ipdrift never takes a host it has not seen asking as proof).
 */
import { appendFileSync } from 'node:fs';

const LAB_ACCOUNT = '123456789012';
const LAB_VPC = 'vpc-0lab00000000000001';

/** One query the lab DNS server answered. */
export interface LabQuery {
  srcaddr: string;
  srcport: number;
  /** As asked (any case, without the trailing dot the log adds). */
  name: string;
  type: string;
  rcode: string;
  transport: 'udp' | 'tcp';
  answers: { data: string; type: string }[];
  /** Epoch ms. */
  at: number;
}

/** Appends one entry per query to `path`. */
export class LabResolverLog {
  /** Entries written. */
  written = 0;

  constructor(
    readonly path: string,
    /** Lab hosts that stand for EC2 instances: address -> instance id (`srcids.instance`). */
    readonly instances: ReadonlyMap<string, string> = new Map(),
  ) {}

  /** The entry of one query, field for field as the documented example orders them. */
  entry(q: LabQuery): string {
    const instance = this.instances.get(q.srcaddr);
    return JSON.stringify({
      srcaddr: q.srcaddr,
      vpc_id: LAB_VPC,
      answers: q.answers.map((a) => ({ Rdata: a.data, Type: a.type, Class: 'IN' })),
      query_name: `${q.name.replace(/\.$/, '')}.`,
      query_class: 'IN',
      ...(instance ? { srcids: { instance } } : {}),
      rcode: q.rcode,
      query_type: q.type,
      transport: q.transport.toUpperCase(),
      version: '1.100000',
      account_id: LAB_ACCOUNT,
      srcport: String(q.srcport),
      // Whole seconds, as the Resolver writes them.
      query_timestamp: `${new Date(q.at).toISOString().slice(0, 19)}Z`,
      region: 'ap-northeast-2',
    });
  }

  /** Writes one entry (synchronously: it exists before the check that looks for it). */
  record(q: LabQuery): void {
    appendFileSync(this.path, `${this.entry(q)}\n`);
    this.written++;
  }
}
