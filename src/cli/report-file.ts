/**
 * What `ipdrift report`, `demo --report` and `demo aurora --report` share: gathering saved state
 * and history into a picture, and writing the HTML without ever overwriting a file that is not
 * an earlier report.
 */
import { open } from 'node:fs/promises';
import { writeFileAtomic } from '../adapters/local/atomic-write.ts';
import { buildPicture } from '../presentation/picture.ts';
import type { FailoverDoc, Picture, PictureTarget } from '../presentation/picture.ts';
import type { Store } from '../core/ports.ts';
import type { ChangeRecord } from '../core/types.ts';
import { REPORT_MARKER } from '../adapters/local/report-html.ts';
import { UsageError } from './errors.ts';

/** History records read per target (the file store keeps at most this many anyway). */
const HISTORY_LIMIT = 10_000;

/** Room left before the first record when the window is fitted: this share of the span, at least a minute. */
const FIT_MARGIN = { share: 0.05, minMs: 60_000 } as const;

/**
 * The picture of `targets` over `[from, to]`, from a store's state and history. With `fit`, the
 * window starts just before the first record in it, so that a short incident in a quiet day
 * is drawn wide, not as a one-pixel sliver.
 */
export async function pictureFromStore(
  store: Store,
  targets: readonly PictureTarget[],
  window: { from: Date; to: Date; fit?: boolean },
  extra: { ticks?: ReadonlyMap<string, readonly string[]>; failovers?: ReadonlyMap<string, readonly FailoverDoc[]> } = {},
): Promise<Picture> {
  const names = targets.map((t) => t.name);
  const [states, histories] = await Promise.all([
    store.load(names),
    Promise.all(names.map(async (n) => [n, (await store.history?.(n, HISTORY_LIMIT)) ?? []] as [string, ChangeRecord[]])),
  ]);
  const to = window.to.getTime();
  let from = window.from.getTime();
  if (window.fit) {
    // A loop, not Math.min(...): a spread of 10,000 records per target would overflow the stack.
    let first = Number.POSITIVE_INFINITY;
    for (const [, h] of histories)
      for (const r of h) {
        const t = Date.parse(r.at);
        if (t >= from && t <= to && t < first) first = t;
      }
    if (Number.isFinite(first)) from = Math.max(from, first - Math.max(FIT_MARGIN.minMs, (to - first) * FIT_MARGIN.share));
  }
  return buildPicture({ from: new Date(from), to: window.to, targets, states, history: new Map(histories), ...extra });
}

/**
 * Writes `html` to `path` through a temp file and a rename. A file already there is replaced
 * only when it is an earlier report (it starts with REPORT_MARKER); anything else is a
 * UsageError naming it, and stays as it was.
 */
export async function writeReport(path: string, html: string, usage: string, flag = '--out'): Promise<void> {
  await checkReportPath(path, usage, flag);
  try {
    await writeFileAtomic(path, html, 0o644);
  } catch (err) {
    throw new UsageError(`${flag} ${path}: cannot write the report: ${(err as Error).message}`, usage);
  }
}

/**
 * Throws the UsageError writeReport would, before any work: a drill must not fail a database
 * over only to find it cannot write its picture.
 */
export async function checkReportPath(path: string, usage: string, flag = '--out'): Promise<void> {
  const head = await readHead(path, REPORT_MARKER.length, flag);
  if (head !== undefined && head !== REPORT_MARKER)
    throw new UsageError(`${flag} ${path}: the file exists and is not an ipdrift report; not overwritten (choose another path)`, usage);
}

/** The first `bytes` of a file, or undefined when there is none. */
async function readHead(path: string, bytes: number, flag: string): Promise<string | undefined> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(path, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new UsageError(`${flag} ${path}: cannot read what is there: ${(err as Error).message}`, '');
  }
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) return '';
    const buf = Buffer.alloc(bytes);
    const { bytesRead } = await handle.read(buf, 0, bytes, 0);
    return buf.subarray(0, bytesRead).toString('utf8');
  } finally {
    await handle.close();
  }
}
