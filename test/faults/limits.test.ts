/**
 * Our own limits never become findings about targets: a check of 2,000 ELB names in a process
 * held to the default 1,024 file descriptors resolves, probes and saves every one of them (DNS
 * queries, probes and saves are each capped in flight), through the real CLI and file store.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LabDnsServer } from '../../lab/dns-server.ts';
import { LabNode } from '../../lab/nodes.ts';
import { loopbackAddress } from './harness.ts';

const run = promisify(execFile);
const BIN = join(import.meta.dirname, '../../bin/ipdrift.mjs');
const BLOCK = 89;
const TARGETS = 2000;
/** The soft limit most machines start processes with. */
const FD_LIMIT = 1024;
const CLI_TIMEOUT_MS = 120_000;

describe('own limits are not findings', () => {
  let dns: LabDnsServer;
  let node: LabNode;
  let dir: string;
  beforeAll(async () => {
    dns = await LabDnsServer.start({ host: loopbackAddress(BLOCK, 1) });
    node = await LabNode.start({ host: loopbackAddress(BLOCK, 11) });
    dir = await mkdtemp(join(tmpdir(), 'ipdrift-limits-'));
  });
  afterAll(async () => {
    await Promise.all([dns.stop(), node.stop()]);
    await rm(dir, { recursive: true, force: true });
  });

  it(
    `${TARGETS} ELB names with ${FD_LIMIT} descriptors: every name resolved, probed and saved; no finding, exit 0`,
    async () => {
      // Prepare
      const names = Array.from({ length: TARGETS }, (_, i) => `alb-${i}.limits.elb.test`);
      for (const n of names) {
        dns.setA(n, [node.host]);
        dns.setA(`all.${n}`, [node.host]);
      }
      const configPath = join(dir, 'config.json');
      await writeFile(
        configPath,
        JSON.stringify({
          resolvers: [dns.address],
          allowLoopback: true,
          deadlineMs: 60_000,
          targets: names.map((host, i) => ({
            name: `alb-${i}`,
            type: 'elb',
            host,
            port: node.port,
            timeoutMs: 5000,
            probe: { protocol: 'http', path: '/health' },
          })),
        }),
      );
      // Act
      const { stdout } = await run(
        'sh',
        ['-c', `ulimit -n ${FD_LIMIT} && exec "${process.execPath}" "${BIN}" check --json --config "${configPath}" --state "${join(dir, 'state')}"`],
        { timeout: CLI_TIMEOUT_MS, maxBuffer: 64 * 1024 * 1024 },
      );
      const report = JSON.parse(stdout) as {
        findings: { kind: string }[];
        targets: { current: string[]; completed: boolean }[];
        unsaved: string[];
        errors: string[];
      };
      // Assess
      expect(report.findings).toEqual([]);
      expect(report.unsaved).toEqual([]);
      expect(report.errors).toEqual([]);
      expect(report.targets.filter((t) => t.current.length !== 1 || !t.completed)).toEqual([]);
    },
    CLI_TIMEOUT_MS,
  );
});
