/**
 * The demo's pictures in a real browser: `ipdrift demo --report` and `demo aurora --report`
 * rendered by headless Chromium (Debian's /usr/bin/chromium, driven by playwright-core): one lane
 * per address, the incident, the DNS lag written on its segment, no request of any kind but the
 * file itself, no horizontal scrolling on a phone's width; a PNG of each goes to the test's temp
 * dir (the README's pictures are these: `IPDRIFT_REPORT_PNG_DIR=docs npx vitest run
 * test/e2e/report-browser.test.ts` copies them there).
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { chromium } from 'playwright-core';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const BIN = join(import.meta.dirname, '../../bin/ipdrift.mjs');
const CHROMIUM = '/usr/bin/chromium';
/** `CI=true`: a missing browser fails instead of skipping. */
const IN_CI = process.env.CI !== undefined && process.env.CI !== 'false' && process.env.CI !== '0';
const MISSING = existsSync(CHROMIUM) ? undefined : `${CHROMIUM} not found (apt-get install chromium)`;
if (MISSING && !IN_CI) console.warn(`[report-browser] skipping: ${MISSING}`);
/** The flags a closed network needs: no background connections, no first-run work. */
const FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const PHONE = { width: 390, height: 844 };

describe.skipIf(MISSING !== undefined && !IN_CI)('the report in headless Chromium', () => {
  let dir: string;
  let browser: Browser;
  let demo: { transitions: { type: string; target: string; severity: string }[] }[];
  let aurora: { timeline: { dnsLagMs: number } };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ipdrift-report-'));
    // Both demos at once (about 25 s and 6 s), each as `npm start` users would run it.
    const [d, a] = await Promise.all([
      run(process.execPath, [BIN, 'demo', '--json', '--report', join(dir, 'demo.html')], { timeout: 90_000 }),
      run(process.execPath, [BIN, 'demo', 'aurora', '--lag', '2s', '--json', '--report', join(dir, 'aurora.html')], { timeout: 90_000 }),
    ]);
    demo = JSON.parse(d.stdout);
    aurora = JSON.parse(a.stdout);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS, timeout: 30_000 });
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    const keep = process.env.IPDRIFT_REPORT_PNG_DIR;
    if (keep && dir) for (const name of ['demo', 'aurora']) await copyFile(join(dir, `${name}.png`), join(keep, `report-${name}.png`));
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** Opens a report, recording every request the page makes. */
  async function open(file: string, viewport = { width: 1100, height: 900 }): Promise<{ page: Page; requests: string[] }> {
    const page = await browser.newPage({ viewport });
    const requests: string[] = [];
    page.on('request', (r) => requests.push(r.url()));
    await page.goto(pathToFileURL(join(dir, file)).href, { timeout: 15_000 });
    return { page, requests };
  }

  it('the incident: a lane per address, one incident for the stale tier and one for the batch host, none for the fresh one, nothing fetched', async () => {
    // Act
    const { page, requests } = await open('demo.html');
    const png = join(dir, 'demo.png');
    await page.screenshot({ path: png, fullPage: true });
    const elb = page.locator('section[data-target="app-alb"]');
    const lanes = await elb.locator('[data-lane]').evaluateAll((els) => els.map((e) => [e.getAttribute('data-lane'), e.getAttribute('data-status')]));
    const incidents = await elb.locator('svg [data-incident]').evaluateAll((els) => els.map((e) => e.getAttribute('data-incident')));
    const pages = await page.locator('[data-total="pages"]').textContent();
    const freshRow = await elb.locator('[data-tier="web-fresh"]').textContent();
    // Assess: two old nodes replaced by two new ones; the old ones went silent after the release step.
    expect(lanes).toHaveLength(4);
    expect(lanes.filter(([, s]) => s === 'current')).toHaveLength(2);
    expect(lanes.filter(([, s]) => s === 'dead')).toHaveLength(2);
    // The stale tier's incident, and the batch host's the flow logs revealed (on the ELB's own row).
    expect(incidents.sort()).toEqual(['app-alb/stale-client-seen/127.0.10.50', 'web-stale/stale-upstream']);
    // The page counts what the demo itself sent to on-call: opened and resolved (the risks went to the events topic).
    const onCall = demo.flatMap((s) => s.transitions).filter((t) => t.type !== 'event' && t.severity !== 'info');
    expect(Number(pages)).toBe(onCall.length);
    expect(freshRow).toContain('no incident');
    expect(requests).toEqual([pathToFileURL(join(dir, 'demo.html')).href]);
    expect((await readFile(png)).subarray(0, 8).equals(PNG_SIGNATURE)).toBe(true);
    await page.close();
  });

  it('the failover: the DNS lag written on its segment, as measured', async () => {
    // Act
    const { page, requests } = await open('aurora.html');
    await page.screenshot({ path: join(dir, 'aurora.png'), fullPage: true });
    const label = page.locator('[data-lag-ms]');
    const lag = Number(await label.getAttribute('data-lag-ms'));
    const steps = await page.locator('[data-step]').evaluateAll((els) => els.map((e) => e.getAttribute('data-step')));
    // Assess
    expect(lag).toBe(aurora.timeline.dnsLagMs);
    expect(await label.textContent()).toBe(`DNS lag ${lag} ms`);
    expect(steps).toEqual(expect.arrayContaining(['event', 'api-writer-changed', 'dns-names-new-writer', 'first-probe-ok-new-writer']));
    expect(requests).toHaveLength(1);
    await page.close();
  });

  it('reads on a phone: nothing wider than the screen', async () => {
    // Act
    const { page } = await open('demo.html', PHONE);
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    await page.screenshot({ path: join(dir, 'demo-phone.png'), fullPage: true });
    // Assess
    expect(width).toBeLessThanOrEqual(PHONE.width);
    await page.close();
  });
});
