/**
 * Flow log records from a file (the CLI's `flowLogs: {"source": "file"}`): one record per line,
 * as the flow log writes them (a file exported from S3 or CloudWatch Logs, or the lab's). Read
 * whole under a size bound; the lines that name a watched address are parsed in the config's
 * format, and the engine matches them exactly.
 */
import { readBoundedFile } from './bounded-read.ts';
import { parseFlowLine } from '../../core/flow-log.ts';
import type { FlowField, FlowRecord } from '../../core/flow-log.ts';
import type { FlowRead, FlowSource } from '../../core/ports.ts';

/** A flow log file larger than this is not read (an export of days belongs in Athena). */
export const MAX_FLOW_FILE_BYTES = 256 * 1024 * 1024;

/** FlowSource over a file. */
export class FileFlowSource implements FlowSource {
  constructor(
    readonly path: string,
    private readonly maxBytes = MAX_FLOW_FILE_BYTES,
  ) {}

  async read(query: { addresses: readonly string[]; fields: readonly FlowField[]; signal: AbortSignal }): Promise<FlowRead & { scannedBytes: number }> {
    const text = await readBoundedFile(this.path, this.maxBytes);
    query.signal.throwIfAborted();
    const lines = text.split('\n');
    const records: FlowRecord[] = [];
    for (const line of lines) {
      // A cheap prefilter: only lines that contain a watched address can match.
      if (!query.addresses.some((a) => line.includes(a))) continue;
      const p = parseFlowLine(line, query.fields);
      if ('record' in p) records.push(p.record);
    }
    return { records, rows: lines.filter((l) => l !== '').length, scannedBytes: Buffer.byteLength(text) };
  }
}
