/**
 * Summarises a V8 `.cpuprofile` (from `node --cpu-prof`): the top frames by self time, mapped
 * back to the TypeScript sources through the bundle's source map, and self time by area
 * (engine, adapters, node internals, GC). `npm run bench -- --profile` writes the profiles.
 *
 * Usage: tsx bench/profile.ts FILE.cpuprofile [TOP]
 */
import { existsSync, readFileSync } from 'node:fs';
import { SourceMap } from 'node:module';
import { relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** Frames listed by default. */
export const DEFAULT_TOP = 15;

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** One aggregated frame. */
export interface FrameCost {
  frame: string;
  where: string;
  area: string;
  selfMs: number;
  selfPct: number;
}

/** One frame's inclusive cost (itself and everything it called). */
export interface InclusiveCost {
  frame: string;
  where: string;
  totalMs: number;
  totalPct: number;
}

/** The summary of one profile. */
export interface ProfileSummary {
  file: string;
  totalMs: number;
  top: FrameCost[];
  /** Frames of our own code (src/, lab/) by inclusive time: where the time goes from. */
  ownInclusive: InclusiveCost[];
  byArea: Record<string, number>;
}

const US_PER_MS = 1000;
const ROOT = fileURLToPath(new URL('..', import.meta.url));

const mapCache = new Map<string, SourceMap | undefined>();
function sourceMapOf(url: string): SourceMap | undefined {
  if (mapCache.has(url)) return mapCache.get(url);
  let map: SourceMap | undefined;
  try {
    const file = url.startsWith('file:') ? fileURLToPath(url) : url;
    if (existsSync(`${file}.map`)) map = new SourceMap(JSON.parse(readFileSync(`${file}.map`, 'utf8')));
  } catch {
    map = undefined;
  }
  mapCache.set(url, map);
  return map;
}

/** `src/core/check.ts:123` for a bundled frame; the raw url otherwise. */
function locate(cf: CallFrame): string {
  if (!cf.url) return '';
  const map = sourceMapOf(cf.url);
  const entry = map?.findEntry(cf.lineNumber, cf.columnNumber) as { originalSource?: string; originalLine?: number } | undefined;
  if (entry?.originalSource) {
    const src = entry.originalSource.startsWith('file:') ? fileURLToPath(entry.originalSource) : entry.originalSource;
    const rel = relative(
      ROOT,
      src.startsWith('/') ? src : fileURLToPath(new URL(src, pathToFileURL(cf.url.startsWith('file:') ? fileURLToPath(cf.url) : cf.url))),
    );
    return `${rel}:${(entry.originalLine ?? 0) + 1}`;
  }
  return `${cf.url.replace(/^file:\/\//, '')}:${cf.lineNumber + 1}`;
}

function areaOf(frame: string, where: string): string {
  if (frame === '(garbage collector)') return 'gc';
  if (frame === '(idle)') return 'idle';
  if (frame === '(program)') return 'program (native, outside JS)';
  if (where.startsWith('src/core/')) return 'engine (src/core)';
  if (where.startsWith('src/adapters/local/')) return 'adapters (src/adapters/local)';
  if (where.startsWith('node_modules/')) return `dependency (${where.split('/')[1]})`;
  if (where.startsWith('bench/')) return 'bench harness';
  if (where.startsWith('node:')) return 'node internals';
  return where === '' ? 'native / builtins' : 'other';
}

/** Aggregates self time by frame (function + source line) and by area. */
export function summarise(file: string, top = DEFAULT_TOP): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  // timeDeltas[i] is the time before sample i; attribute it to the sampled node.
  profile.samples.forEach((id, i) => {
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  });
  const frames = new Map<string, FrameCost>();
  const byArea: Record<string, number> = {};
  let totalUs = 0;
  for (const [id, us] of selfUs) {
    const cf = byId.get(id)!.callFrame;
    const name = cf.functionName || '(anonymous)';
    const where = locate(cf);
    const key = `${name}@${where}`;
    const area = areaOf(name, where);
    totalUs += us;
    byArea[area] = (byArea[area] ?? 0) + us / US_PER_MS;
    const f = frames.get(key) ?? { frame: name, where, area, selfMs: 0, selfPct: 0 };
    f.selfMs += us / US_PER_MS;
    frames.set(key, f);
  }
  const totalMs = totalUs / US_PER_MS;
  // Inclusive: each sample counts once for every distinct frame on its stack (recursion-safe).
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const keyOf = new Map<number, { key: string; frame: string; where: string }>();
  const key = (id: number) => {
    let k = keyOf.get(id);
    if (!k) {
      const cf = byId.get(id)!.callFrame;
      const frame = cf.functionName || '(anonymous)';
      const where = locate(cf);
      k = { key: `${frame}@${where}`, frame, where };
      keyOf.set(id, k);
    }
    return k;
  };
  const inclusive = new Map<string, InclusiveCost>();
  for (const [id, us] of selfUs) {
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const k = key(cur);
      if (seen.has(k.key) || !/^(functions|lab)\//.test(k.where)) continue;
      seen.add(k.key);
      const c = inclusive.get(k.key) ?? { frame: k.frame, where: k.where, totalMs: 0, totalPct: 0 };
      c.totalMs += us / US_PER_MS;
      inclusive.set(k.key, c);
    }
  }
  const ownInclusive = [...inclusive.values()]
    .sort((a, b) => b.totalMs - a.totalMs)
    .slice(0, top)
    .map((c) => ({ ...c, totalMs: Math.round(c.totalMs * 10) / 10, totalPct: Math.round((c.totalMs / totalMs) * 1000) / 10 }));
  const list = [...frames.values()]
    .filter((f) => f.frame !== '(idle)')
    .sort((a, b) => b.selfMs - a.selfMs)
    .slice(0, top)
    .map((f) => ({ ...f, selfMs: Math.round(f.selfMs * 10) / 10, selfPct: Math.round((f.selfMs / totalMs) * 1000) / 10 }));
  for (const k of Object.keys(byArea)) byArea[k] = Math.round(byArea[k]! * 10) / 10;
  return { file, totalMs: Math.round(totalMs), top: list, ownInclusive, byArea };
}

/** Printable form of a summary. */
export function formatSummary(s: ProfileSummary): string {
  const lines = [`${s.file}: ${s.totalMs} ms sampled`];
  lines.push('  self time by area:');
  for (const [area, ms] of Object.entries(s.byArea).sort((a, b) => b[1] - a[1])) lines.push(`    ${String(ms).padStart(8)} ms  ${area}`);
  lines.push('  top frames (self time):');
  for (const f of s.top) lines.push(`    ${String(f.selfMs).padStart(8)} ms ${String(f.selfPct).padStart(5)}%  ${f.frame}  ${f.where}`);
  lines.push('  our frames by inclusive time (self + callees):');
  for (const c of s.ownInclusive) lines.push(`    ${String(c.totalMs).padStart(8)} ms ${String(c.totalPct).padStart(5)}%  ${c.frame}  ${c.where}`);
  return lines.join('\n');
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [file, topText] = process.argv.slice(2);
  if (!file) {
    console.error('usage: tsx bench/profile.ts FILE.cpuprofile [TOP]');
    process.exit(2);
  }
  console.log(formatSummary(summarise(file, topText ? Number(topText) : DEFAULT_TOP)));
}
