import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { INCIDENT_STEPS, WITH_LOGS } from '../../lab/incident.ts';

const run = promisify(execFile);
const BIN = join(import.meta.dirname, '../../bin/ipdrift.mjs');

interface StepJson {
  step: string;
  findings: { target: string; kind: string; severity: string; advice: string }[];
  transitions: { type: string; target: string; kind: string; severity: string }[];
  clients: { tier: string; status: number | 'error'; upstream?: string }[];
}

describe('ipdrift demo (the CLI against the lab incident)', () => {
  it('reports, step by step, exactly the findings the incident should produce', async () => {
    // Prepare / Act: the real CLI, as `npm start` runs it.
    const { stdout } = await run(process.execPath, [BIN, 'demo', '--json'], { timeout: 60_000 });
    const steps = JSON.parse(stdout) as StepJson[];

    // Assess
    expect(steps.map((s) => s.step)).toEqual(INCIDENT_STEPS.map((s) => s.id));
    for (const [i, step] of INCIDENT_STEPS.entries()) {
      for (const [target, kinds] of Object.entries(step.expect)) {
        const got = steps[i]!.findings.filter((f) => f.target === target)
          .map((f) => f.kind)
          .sort();
        // The demo's lab writes flow and resolver query logs: what they change, per step.
        const expected = WITH_LOGS[step.id]?.[target as keyof typeof step.expect] ?? kinds;
        expect({ step: step.id, target, kinds: got }).toEqual({ step: step.id, target, kinds: [...expected].sort() });
      }
    }
    // The fresh tier (it re-resolves) is never flagged, in any step.
    expect(steps.flatMap((s) => s.findings).filter((f) => f.target === 'web-fresh')).toEqual([]);
    // Before any change the census names the batch host by its instance (its connections recorded at
    // both ends are one client) and the stale tier, each with when it last asked.
    const named = steps[0]!.findings as unknown as { target: string; evidence: Record<string, unknown>; advice: string }[];
    expect(named.find((f) => f.target === 'app-alb')?.evidence).toMatchObject({
      sourceAddress: '127.0.10.50',
      clientKind: 'instance',
      addresses: ['127.0.10.11'],
    });
    expect(named.find((f) => f.target === 'web-stale')?.evidence).toMatchObject({ sourceAddress: '127.0.10.31', lastAsked: expect.any(String) });
    // The stale tier's advice names httpd's own fix (its Server header says Apache), before the change and paged.
    expect(named.find((f) => f.target === 'web-stale')?.advice).toContain('addressttl=');
    const proven = steps[2]!.findings.find((f) => f.target === 'web-stale') as unknown as { kind: string; evidence: Record<string, unknown>; advice: string };
    expect(proven.kind).toBe('stale-address-confirmed');
    expect(proven.evidence.proof).toMatchObject({ source: 'resolver-query-logs' });
    expect(proven.advice).toContain('addressttl=');
    const batch = steps[2]!.findings.find((f) => f.target === 'app-alb' && f.kind === 'stale-client-seen') as unknown as { evidence: Record<string, unknown> };
    expect(batch.evidence).toMatchObject({
      sourceAddress: '127.0.10.50',
      clientKind: 'instance',
      addressState: 'answering',
      proof: { source: 'resolver-query-logs' },
    });
    // Users saw what the incident is about: a stall through the stale tier once old addresses swallow.
    expect(steps[3]!.clients.find((c) => c.tier === 'web-stale')?.status).toBe(504);
    expect(steps[3]!.clients.find((c) => c.tier === 'web-fresh')?.status).toBe(200);
    // Before the change, the risks go to the events topic; one page each, "opened", in the first
    // check past the TTL (the proof); "updated" once users fail; never resolved while they still
    // fail, resolved after two clean checks. The address change goes to the events topic.
    const transitions = steps.flatMap((s) => s.transitions.map((t) => `${s.step}:${t.type}:${t.target}:${t.kind}:${t.severity}`));
    // The batch host only the flow logs reveal is an incident of its own, open to the end: nobody fixed it.
    expect(transitions).toEqual([
      'baseline:opened:app-alb:dns-cache-at-risk:info',
      'baseline:opened:web-stale:dns-cache-at-risk:info',
      'replace:event:app-alb:address-set-changed:info',
      'linger:opened:app-alb:stale-client-seen:critical',
      'linger:opened:web-stale:stale-address-confirmed:critical',
      'release:updated:web-stale:stale-address-suspected:critical',
      'settled:resolved:web-stale:stale-address-suspected:critical',
    ]);
  });

  it('the text summary names the caching hosts before the change, and the detection time after it', async () => {
    // Act
    const { stdout } = await run(process.execPath, [BIN, 'demo'], { timeout: 60_000, env: { ...process.env, NO_COLOR: '1' } });

    // Assess
    expect(stdout).toContain('before any change, the cache census (flow + resolver query logs) named the hosts that resolved the name once: ');
    expect(stdout).toMatch(
      /first page for the stale web tier: check 2 after the ELB replaced its nodes, \d+\.\d s after \(the TTL is 2 s\), before any user failed/,
    );
  });
});
