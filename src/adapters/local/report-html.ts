/**
 * `ipdrift report` as one self-contained HTML file: inline CSS and SVG, no script, no request of
 * any kind (a Content-Security-Policy of `default-src 'none'` says so to the browser too), so it
 * opens from a file on a laptop without network, reads on a phone and prints. Plain SVG rather
 * than a chart library: swimlanes and a timeline are rectangles and text, and a library would
 * have to be inlined whole to keep the no-network rule (docs/architecture.md, "Report").
 */
import type { AddressLane, FailoverDoc, Incident, Picture, TargetPicture } from '../../presentation/picture.ts';
import { MS_PER_SECOND } from '../../core/time-units.ts';
import { TARGET_TYPE_DESCRIPTORS } from '../../core/target-types.ts';
import type { TargetTypeDescriptor } from '../../core/target-types.ts';

/** The first lines of every report: `ipdrift report` overwrites only a file that starts so. */
export const REPORT_MARKER = '<!doctype html>\n<!-- ipdrift report -->';

const W = 1000;
const LABEL = 180;
const RIGHT = 24;
const PLOT = W - LABEL - RIGHT;
const AXIS = 34;
const LANE = 18;
const GAP = 6;

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const iso = (t: number) => new Date(t).toISOString().replace('.000Z', 'Z');
const duration = (ms: number) => {
  if (ms < 10 * MS_PER_SECOND) return `${Math.round(ms)} ms`;
  if (ms < 120 * MS_PER_SECOND) return `${(ms / MS_PER_SECOND).toFixed(1)} s`;
  if (ms < 120 * 60 * MS_PER_SECOND) return `${Math.round(ms / 60_000)} min`;
  return `${(ms / 3_600_000).toFixed(1)} h`;
};

type Section = TargetTypeDescriptor['reportSection'];
/** Where each target type is drawn (its descriptor says; a new type has one or fails to compile: never dropped). */
const SECTION_OF = (type: TargetPicture['target']['type']): Section => TARGET_TYPE_DESCRIPTORS[type].reportSection;

/** Renders the picture; `title` heads the page, `generatedAt` is stated in it. */
export function renderReport(p: Picture, opts: { title: string; generatedAt: Date; source: string }): string {
  const x = (t: number) => LABEL + ((Math.min(Math.max(t, p.from), p.to) - p.from) / Math.max(1, p.to - p.from)) * PLOT;
  const of = (section: Section) => p.targets.filter((t) => SECTION_OF(t.target.type) === section);
  const elbs = of('elb');
  const tiers = of('tier');
  const auroras = of('aurora');
  const behind = (elb: string) => tiers.filter((t) => t.target.upstream === elb);
  const orphanTiers = tiers.filter((t) => !elbs.some((e) => e.target.name === t.target.upstream));
  const sections = [
    ...elbs.map((e) => elbSection(e, behind(e.target.name), x, p)),
    ...orphanTiers.map((t) => elbSection(undefined, [t], x, p)),
    ...auroras.map((a) => auroraSection(a, x, p)),
  ];
  return `${REPORT_MARKER}
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>${esc(opts.title)}</title>
<style>${CSS}</style>
</head>
<body>
<header>
<h1>${esc(opts.title)}</h1>
<p class="meta">${esc(iso(p.from))} to ${esc(iso(p.to))} (UTC) · from ${esc(opts.source)} · generated ${esc(iso(opts.generatedAt.getTime()))}</p>
</header>
${summarySection(p)}
${sections.join('\n')}
${LEGEND}
</body>
</html>
`;
}

function summarySection(p: Picture): string {
  const rows = p.targets.map((t) => {
    const opened = t.incidents.filter((i) => i.openedAt >= p.from).length;
    const resolved = t.incidents.filter((i) => i.resolvedAt !== undefined).length;
    const pages = t.incidents.reduce((n, i) => n + i.pages, 0);
    const detection = t.incidents.flatMap((i) => (i.detectedAfterTtlMs === undefined ? [] : [duration(i.detectedAfterTtlMs)]));
    const afterSilent = t.incidents.flatMap((i) => (i.detectedAfterSilentMs === undefined ? [] : [duration(i.detectedAfterSilentMs)]));
    const current = t.lanes.filter((l) => l.status === 'current').length;
    return `<tr data-summary="${esc(t.target.name)}"><td>${esc(t.target.name)}</td><td>${t.target.type}</td><td>${TARGET_TYPE_DESCRIPTORS[t.target.type].hasAddresses ? `${current} / ${t.lanes.length - current}` : '-'}</td><td>${opened}</td><td>${resolved}</td><td>${pages}</td><td>${detection.join(', ') || '-'}</td><td>${afterSilent.join(', ') || '-'}</td></tr>`;
  });
  const tot = p.totals;
  return `<section class="summary">
<h2>Summary</h2>
<p class="figures"><b data-total="incidents">${tot.incidentsOpened}</b> incident(s) opened · <b>${tot.incidentsResolved}</b> resolved · <b data-total="pages">${tot.pages}</b> message(s) to on-call · <b>${tot.events}</b> event(s) for reading later</p>
<div class="scroll"><table>
<thead><tr><th>target</th><th>type</th><th>addresses current / retired</th><th>incidents opened</th><th>resolved</th><th>messages to on-call</th><th>first page after the TTL ran out</th><th>first page after the retired node went silent</th></tr></thead>
<tbody>${rows.join('')}</tbody>
</table></div>
</section>`;
}

/** Time axis: gridlines and labels, the checks as ticks. */
function axis(x: (t: number) => number, p: Picture, height: number, ticks: readonly number[]): string {
  const n = 6;
  const span = p.to - p.from;
  const label = (t: number) => (span < 86_400_000 ? new Date(t).toISOString().slice(11, 19) : new Date(t).toISOString().slice(5, 16).replace('T', ' '));
  // The last label ends at the plot's edge: centred there, half of it would be cut off.
  const grid = Array.from({ length: n + 1 }, (_, i) => p.from + (span * i) / n).map(
    (t, i) =>
      `<line class="grid" x1="${x(t).toFixed(1)}" y1="${AXIS - 6}" x2="${x(t).toFixed(1)}" y2="${height}"/><text class="axis" x="${x(t).toFixed(1)}" y="12" text-anchor="${i === n ? 'end' : 'middle'}">${label(t)}</text>`,
  );
  const marks = ticks.map(
    (t) =>
      `<line class="tick" data-tick="${iso(t)}" x1="${x(t).toFixed(1)}" y1="${AXIS - 14}" x2="${x(t).toFixed(1)}" y2="${AXIS - 6}"><title>check at ${iso(t)}</title></line>`,
  );
  return `${grid.join('')}<text class="axis left" x="4" y="${AXIS - 8}">checks</text>${marks.join('')}`;
}

function laneRow(l: AddressLane, y: number, x: (t: number) => number): string {
  const seg = (cls: string, a: number, b: number, what: string) =>
    b > a
      ? `<rect class="${cls}" x="${x(a).toFixed(1)}" y="${y}" width="${Math.max(1, x(b) - x(a)).toFixed(1)}" height="${LANE}"><title>${esc(what)}</title></rect>`
      : '';
  const drainEnd = l.deadAt ?? l.releasedAt ?? l.end;
  const parts = [
    seg(
      'current',
      l.start,
      l.retiredAt ?? l.end,
      `${l.address}: in DNS from ${iso(l.start)}${l.retiredAt ? ` to ${iso(l.retiredAt)}` : ' (current)'}${l.ttl !== undefined ? `, TTL ${l.ttl} s` : ''}`,
    ),
    l.retiredAt !== undefined ? seg('draining', l.retiredAt, drainEnd, `${l.address}: retired ${iso(l.retiredAt)}, still answering (draining)`) : '',
    l.deadAt !== undefined ? seg('dead', l.deadAt, l.end, `${l.address}: silent since ${iso(l.deadAt)}`) : '',
    l.releasedAt !== undefined
      ? `<path class="released" d="M${x(l.releasedAt).toFixed(1)} ${y - 2} l5 ${LANE / 2 + 2} l-5 ${LANE / 2 + 2} l-5 ${-(LANE / 2 + 2)} z"><title>${esc(`${l.address}: interface deleted by the ELB at ${iso(l.releasedAt)}`)}</title></path>`
      : '',
  ];
  return `<g data-lane="${esc(l.address)}" data-status="${l.status}"><text class="label" x="${LABEL - 8}" y="${y + LANE - 5}" text-anchor="end">${esc(l.address)}</text>${parts.join('')}</g>`;
}

function incidentRow(t: TargetPicture, y: number, x: (t: number) => number, p: Picture): string {
  const bands = t.incidents.map((i) => {
    const x0 = x(i.openedAt);
    const x1 = x(i.resolvedAt ?? p.to);
    const w = Math.max(2, x1 - x0).toFixed(1);
    const what = `${i.kind} (${i.severity}) opened ${iso(i.openedAt)}${i.resolvedAt ? `, resolved ${iso(i.resolvedAt)}` : ', still open'}; ${i.pages} message(s) to on-call\n${i.notes.map((n) => `${iso(n.at)} ${n.what}: ${n.summary}`).join('\n')}`;
    return `<g data-incident="${esc(i.key)}" data-severity="${i.severity}"><rect class="incident ${i.severity}" x="${x0.toFixed(1)}" y="${y}" width="${w}" height="${LANE}"><title>${esc(what)}</title></rect></g>`;
  });
  const none = t.incidents.length === 0 ? `<text class="none" x="${LABEL + 6}" y="${y + LANE - 5}">no incident</text>` : '';
  return `<g data-tier="${esc(t.target.name)}"><text class="label tier" x="${LABEL - 8}" y="${y + LANE - 5}" text-anchor="end">${esc(t.target.name)}</text>${none}${bands.join('')}</g>`;
}

/** Each incident as a faint band over the lanes above its row, drawn under them: when it was, against what the ELB did. */
function incidentBands(t: TargetPicture, y: number, top: number, x: (t: number) => number, p: Picture): string {
  return t.incidents
    .map((i) => {
      const x0 = x(i.openedAt);
      const w = Math.max(2, x(i.resolvedAt ?? p.to) - x0).toFixed(1);
      return `<rect class="band ${i.severity}" x="${x0.toFixed(1)}" y="${top}" width="${w}" height="${y - top}"/>`;
    })
    .join('');
}

function elbSection(elb: TargetPicture | undefined, tiers: readonly TargetPicture[], x: (t: number) => number, p: Picture): string {
  const lanes = elb?.lanes ?? [];
  const laneTop = AXIS;
  const tierTop = laneTop + lanes.length * (LANE + GAP) + (lanes.length ? GAP : 0);
  // An incident row per web tier behind the ELB, and one for the ELB's own incidents when it has any.
  const rows = [...(elb && elb.incidents.length > 0 ? [elb] : []), ...tiers];
  const height = tierTop + Math.max(1, rows.length) * (LANE + GAP) + 8;
  const changes = (elb?.changes ?? []).map(
    (c) =>
      `<line class="change" data-change="${iso(c.at)}" x1="${x(c.at).toFixed(1)}" y1="${AXIS - 6}" x2="${x(c.at).toFixed(1)}" y2="${tierTop}"><title>${esc(`${iso(c.at)} address set changed: +${c.added.join(', +') || 'none'}; -${c.removed.join(', -') || 'none'}`)}</title></line>`,
  );
  const svg = [
    axis(x, p, height - 8, elb?.ticks ?? tiers[0]?.ticks ?? []),
    ...rows.map((t, i) => incidentBands(t, tierTop + i * (LANE + GAP), laneTop, x, p)),
    ...lanes.map((l, i) => laneRow(l, laneTop + i * (LANE + GAP), x)),
    ...changes,
    ...rows.map((t, i) => incidentRow(t, tierTop + i * (LANE + GAP), x, p)),
  ];
  const name = elb ? elb.target.name : tiers[0]!.target.name;
  const heading = elb
    ? `ELB ${esc(name)}${tiers.length ? ` and the web tier${tiers.length > 1 ? 's' : ''} behind it: ${tiers.map((t) => esc(t.target.name)).join(', ')}` : ''}`
    : `web tier ${esc(name)}`;
  const incidents = [...(elb ? [elb] : []), ...tiers].flatMap((t) => t.incidents.map((i) => ({ t, i })));
  return `<section class="target" data-target="${esc(name)}">
<h2>${heading}</h2>
<svg viewBox="0 0 ${W} ${height}" role="img" aria-label="${esc(`address lanes of ${name}`)}">${svg.join('')}</svg>
${lanes.length ? addressTable(lanes) : ''}
${incidentTable(incidents)}
</section>`;
}

function addressTable(lanes: readonly AddressLane[]): string {
  const cell = (t?: number) => (t === undefined ? '-' : iso(t));
  const rows = lanes.map(
    (l) =>
      `<tr><td>${esc(l.address)}</td><td>${l.status}</td><td>${cell(l.start)}</td><td>${cell(l.retiredAt)}</td><td>${cell(l.deadAt)}</td><td>${cell(l.releasedAt)}</td></tr>`,
  );
  return `<details><summary>addresses (${lanes.length})</summary><div class="scroll"><table><thead><tr><th>address</th><th>now</th><th>first seen</th><th>retired</th><th>silent since</th><th>released by the ELB</th></tr></thead><tbody>${rows.join('')}</tbody></table></div></details>`;
}

function incidentTable(list: readonly { t: TargetPicture; i: Incident }[]): string {
  if (list.length === 0) return '<p class="quiet">No incident in this window: nobody was paged.</p>';
  const rows = list.map(
    ({ t, i }) =>
      `<tr data-incident-row="${esc(i.key)}"><td>${esc(t.target.name)}</td><td>${esc(i.kind)}</td><td class="${i.severity}">${i.severity}</td><td>${iso(i.openedAt)}</td><td>${i.resolvedAt ? iso(i.resolvedAt) : 'open'}</td><td>${i.pages}</td><td>${i.detectedAfterTtlMs === undefined ? '-' : duration(i.detectedAfterTtlMs)}</td><td>${i.detectedAfterSilentMs === undefined ? '-' : duration(i.detectedAfterSilentMs)}</td><td><ul>${i.notes.map((n) => `<li>${esc(iso(n.at))} <b>${esc(n.what)}</b>: ${esc(n.summary)}</li>`).join('')}</ul></td></tr>`,
  );
  return `<div class="scroll"><table class="incidents"><thead><tr><th>target</th><th>incident</th><th>severity</th><th>opened</th><th>resolved</th><th>messages to on-call</th><th>after the TTL</th><th>after the node went silent</th><th>what on-call was told</th></tr></thead><tbody>${rows.join('')}</tbody></table></div>`;
}

const STEP_SHORT: Record<string, string> = {
  event: 'event',
  'first-probe-failed': 'first failure',
  'api-no-writer': 'no writer',
  'api-writer-changed': 'API',
  'dns-names-new-writer': 'DNS',
  'first-probe-ok-new-writer': 'connect',
};

/** One failover: event, API, DNS, first good connection on one axis, the DNS lag highlighted. */
function failoverSvg(f: FailoverDoc): string {
  const steps = f.steps.filter((s) => s.offsetMs !== undefined);
  const end = Math.max(1, ...steps.map((s) => s.offsetMs!), f.outage?.ms ?? 0);
  const span = end * 1.08;
  const fx = (offset: number) => LABEL + (Math.max(0, offset) / span) * PLOT;
  const offsetOf = (step: string) => f.steps.find((s) => s.step === step)?.offsetMs;
  const api = offsetOf('api-writer-changed');
  const dns = offsetOf('dns-names-new-writer');
  const y = 40;
  const parts: string[] = [`<line class="grid" x1="${LABEL}" y1="${y + 10}" x2="${W - RIGHT}" y2="${y + 10}"/>`];
  const eventAt = Date.parse(f.eventAt);
  const outageStart = f.outage ? Date.parse(f.outage.startAt) - eventAt : undefined;
  if (outageStart !== undefined && f.outage?.ms !== undefined) {
    parts.push(
      `<rect class="outage" x="${fx(outageStart).toFixed(1)}" y="${y + 24}" width="${Math.max(2, fx(outageStart + f.outage.ms) - fx(outageStart)).toFixed(1)}" height="10"><title>client outage ${f.outage.ms} ms</title></rect><text class="small" x="${fx(outageStart).toFixed(1)}" y="${y + 48}">client outage ${duration(f.outage.ms)}</text>`,
    );
  }
  if (api !== undefined && dns !== undefined && f.dnsLagMs !== undefined) {
    const a = fx(Math.min(api, dns));
    const b = fx(Math.max(api, dns));
    parts.push(
      `<rect class="lag" x="${a.toFixed(1)}" y="${y}" width="${Math.max(2, b - a).toFixed(1)}" height="20"><title>DNS lag: DNS named the new writer ${f.dnsLagMs} ms after the API did</title></rect><text class="lag-label" data-lag-ms="${f.dnsLagMs}" x="${((a + b) / 2).toFixed(1)}" y="${y - 6}" text-anchor="middle">DNS lag ${f.dnsLagMs} ms</text>`,
    );
  }
  steps.forEach((s, i) => {
    const sx = fx(s.offsetMs!);
    const ly = y + 70 + (i % 2) * 16;
    parts.push(
      `<g data-step="${esc(s.step)}"><line class="step" x1="${sx.toFixed(1)}" y1="${y - 2}" x2="${sx.toFixed(1)}" y2="${ly - 10}"/><circle class="step" cx="${sx.toFixed(1)}" cy="${y + 10}" r="4"><title>${esc(`${s.label}: +${s.offsetMs} ms`)}</title></circle><text class="small" x="${sx.toFixed(1)}" y="${ly}" text-anchor="middle">${esc(STEP_SHORT[s.step] ?? s.step)} +${s.offsetMs} ms</text></g>`,
    );
  });
  const who = `${f.previousWriter ?? '?'} → ${f.newWriter ?? 'none'}`;
  parts.push(`<text class="label" x="${LABEL - 8}" y="${y + 14}" text-anchor="end">${esc(who)}</text>`);
  return `<svg viewBox="0 0 ${W} ${y + 100}" role="img" aria-label="${esc(`failover of ${f.cluster} at ${f.eventAt}`)}" data-failover="${esc(f.eventAt)}">${parts.join('')}</svg>`;
}

function auroraSection(a: TargetPicture, x: (t: number) => number, p: Picture): string {
  const rows = a.failovers.map(
    (f) =>
      `<tr><td>${esc(f.eventAt)}</td><td>${esc(f.previousWriter ?? '?')} → ${esc(f.newWriter ?? 'none')}</td><td>${f.dnsLagMs === undefined ? 'not measured' : `${f.dnsLagMs} ms`}</td><td>${f.outage?.ms === undefined ? (f.outage ? 'still open' : 'none seen') : `${f.outage.ms} ms`}</td><td>${f.settled ? 'settled' : 'NOT settled'}</td></tr>`,
  );
  const incidents = `<svg viewBox="0 0 ${W} ${AXIS + LANE + 14}" role="img" aria-label="${esc(`incidents of ${a.target.name}`)}">${axis(x, p, AXIS + LANE + 6, a.ticks)}${incidentRow(a, AXIS, x, p)}</svg>`;
  return `<section class="target" data-target="${esc(a.target.name)}">
<h2>Aurora ${esc(a.target.name)}</h2>
${a.failovers.length ? a.failovers.map(failoverSvg).join('\n') : '<p class="quiet">No failover in this window.</p>'}
${a.failovers.length ? `<div class="scroll"><table><thead><tr><th>event</th><th>writer</th><th>DNS lag (API to DNS)</th><th>client outage</th><th>result</th></tr></thead><tbody>${rows.join('')}</tbody></table></div>` : ''}
${incidents}
${incidentTable(a.incidents.map((i) => ({ t: a, i })))}
</section>`;
}

const LEGEND = `<footer><h2>How to read it</h2><ul class="legend">
<li><span class="key current"></span> address in DNS</li>
<li><span class="key draining"></span> retired from DNS, still answering (a cache may still use it within its TTL)</li>
<li><span class="key dead"></span> retired and silent: released, as an ELB does; it matters only if a client still sends to it</li>
<li><span class="key released"></span> the ELB deleted its interface (CloudTrail)</li>
<li><span class="key critical"></span> / <span class="key warning"></span> an incident (critical / warning) from opening to resolution; hover for what on-call was told</li>
<li>dashed line: the address set changed; ticks on top: checks</li>
</ul></footer>`;

const CSS = `
:root{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1b1b1b;background:#fff}
body{margin:0 auto;max-width:1100px;padding:12px 16px 32px}
h1{font-size:1.4rem;margin:.4rem 0}h2{font-size:1.1rem;margin:1.4rem 0 .4rem}
.meta,.quiet,.none{color:#555;font-size:.85rem}
svg{width:100%;height:auto;display:block;margin:.3rem 0}
svg text{font-size:12px;fill:#333}svg .axis{font-size:11px;fill:#666}svg .small{font-size:11px}
.grid{stroke:#e3e3e3}.tick{stroke:#444;stroke-width:1}.change{stroke:#1565c0;stroke-dasharray:4 3;stroke-width:1.5}
rect.current{fill:#2e7d32}rect.draining{fill:#f9a825}rect.dead{fill:#9e9e9e}path.released{fill:#6a1b9a}
rect.band{opacity:.1}rect.band.critical,rect.incident.critical{fill:#c62828}rect.band.warning,rect.incident.warning{fill:#ef6c00}
rect.lag{fill:#c62828;opacity:.75}.lag-label{font-weight:600;fill:#c62828}rect.outage{fill:#455a64;opacity:.6}
line.step{stroke:#555;stroke-dasharray:2 2}circle.step{fill:#1565c0}
table{border-collapse:collapse;font-size:.85rem;width:100%}th,td{border-bottom:1px solid #ddd;padding:4px 6px;text-align:left;vertical-align:top}
td.critical{color:#c62828;font-weight:600}td.warning{color:#ef6c00;font-weight:600}
td ul{margin:0;padding-left:1rem}.scroll{overflow-x:auto}.figures b{font-size:1.1rem}
.legend{list-style:none;padding:0;font-size:.85rem}.legend li{margin:.2rem 0}
.key{display:inline-block;width:14px;height:10px;margin-right:4px}.key.current{background:#2e7d32}.key.draining{background:#f9a825}.key.dead{background:#9e9e9e}.key.released{background:#6a1b9a}.key.critical{background:#c62828}.key.warning{background:#ef6c00}
details summary{cursor:pointer;font-size:.85rem;color:#333}
@media (max-width:600px){body{padding:8px}svg text{font-size:14px}}
@media print{body{max-width:none}details{display:block}details>*{display:block}section{break-inside:avoid}}
`;
