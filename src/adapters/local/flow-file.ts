/**
 * Flow log records from a file (the CLI's `flowLogs: {"source": "file"}`): one record per line,
 * as the flow log writes them (a file exported from S3 or CloudWatch Logs, or the lab's). Read
 * whole under a size bound and filtered to the lines that name a watched address; the engine
 * parses and matches.
 */
import { readBoundedFile } from './bounded-read.ts';
import type { FlowSource } from '../../core/ports.ts';

/** A flow log file larger than this is not read (an export of days belongs in Athena). */
export const MAX_FLOW_FILE_BYTES = 256 * 1024 * 1024;

/** FlowSource over a file. */
export class FileFlowSource implements FlowSource {
  constructor(
    readonly path: string,
    private readonly maxBytes = MAX_FLOW_FILE_BYTES,
  ) {}

  async read(query: { addresses: readonly string[]; signal: AbortSignal }): Promise<{ lines: string[]; scannedBytes: number }> {
    const text = await readBoundedFile(this.path, this.maxBytes);
    query.signal.throwIfAborted();
    // A cheap prefilter: only lines that contain a watched address can match.
    const lines = text.split('\n').filter((l) => query.addresses.some((a) => l.includes(a)));
    return { lines, scannedBytes: Buffer.byteLength(text) };
  }
}
