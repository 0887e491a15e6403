/**
 * Route 53 Resolver query logs from a file (the CLI's `resolverLogs: {"source": "file"}`): one
 * JSON entry per line, as the Resolver delivers them to S3 or Firehose (or the lab's DNS server
 * writes them). Read whole under a size bound; the engine's parser and matcher do the rest.
 */
import { readBoundedFile } from './bounded-read.ts';
import { askersOf, parseResolverLine } from '../../core/resolver-log.ts';
import type { ResolverQuery } from '../../core/resolver-log.ts';
import type { ResolverLogRead, ResolverLogSource } from '../../core/ports.ts';

/** A query log file larger than this is not read (days of queries belong in Athena). */
export const MAX_RESOLVER_FILE_BYTES = 256 * 1024 * 1024;

/** ResolverLogSource over a file. */
export class FileResolverSource implements ResolverLogSource {
  constructor(
    readonly path: string,
    private readonly maxBytes = MAX_RESOLVER_FILE_BYTES,
  ) {}

  async read(query: { names: readonly string[]; addresses: readonly string[]; from: number; to: number; signal: AbortSignal }): Promise<ResolverLogRead> {
    const text = await readBoundedFile(this.path, this.maxBytes);
    query.signal.throwIfAborted();
    const queries: ResolverQuery[] = [];
    let rows = 0;
    for (const line of text.split('\n')) {
      const p = parseResolverLine(line);
      if ('skipped' in p) continue;
      rows++;
      if ('query' in p && p.query.at >= query.from && p.query.at <= query.to) queries.push(p.query);
    }
    return { askers: askersOf(queries, query), rows, scannedBytes: Buffer.byteLength(text) };
  }
}
