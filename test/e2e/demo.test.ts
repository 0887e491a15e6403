import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FLOW_EXTRA, INCIDENT_STEPS } from '../../lab/incident.ts';

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
        // The demo has flow logs: the batch host nobody configured adds its own finding.
        const extra = FLOW_EXTRA[step.id]?.[target as keyof typeof step.expect] ?? [];
        expect({ step: step.id, target, kinds: got }).toEqual({ step: step.id, target, kinds: [...kinds, ...extra].sort() });
      }
    }
    // The fresh tier is never flagged, in any step.
    expect(steps.flatMap((s) => s.findings).filter((f) => f.target === 'web-fresh')).toEqual([]);
    // The flow logs name the batch host by its interface and address (at risk while its node
    // drains); the stale tier's own records join its at-risk finding.
    const batch = steps[2]!.findings.find((f) => f.target === 'app-alb' && f.kind === 'stale-address-at-risk') as
      | { evidence: Record<string, unknown> }
      | undefined;
    expect(batch?.evidence).toMatchObject({ sourceAddress: '127.0.10.50', clientKind: 'interface', address: '127.0.10.11' });
    const atRisk = steps[2]!.findings.find((f) => f.target === 'web-stale' && f.kind === 'stale-address-at-risk') as
      | { evidence: Record<string, unknown>; advice: string; severity: string }
      | undefined;
    expect(atRisk?.evidence.flowClients).toEqual(expect.arrayContaining([expect.objectContaining({ sourceAddress: '127.0.10.31' })]));
    expect(atRisk?.severity).toBe('info');
    // The stale tier's advice names httpd's own fix (its Server header says Apache), at risk and paged.
    expect(atRisk?.advice).toContain('addressttl=');
    expect(steps[3]!.findings.find((f) => f.target === 'web-stale')?.advice).toContain('addressttl=');
    // Users saw what the incident is about: a stall through the stale tier once old addresses swallow.
    expect(steps[3]!.clients.find((c) => c.tier === 'web-stale')?.status).toBe(504);
    expect(steps[3]!.clients.find((c) => c.tier === 'web-fresh')?.status).toBe(200);
    // While the old nodes drain, the risks go to the events topic; one page each, "opened", in the
    // first check after the old nodes stop answering; never resolved while users still fail,
    // resolved after two clean checks. The address change goes to the events topic.
    const transitions = steps.flatMap((s) => s.transitions.map((t) => `${s.step}:${t.type}:${t.target}:${t.kind}:${t.severity}`));
    // The batch host only the flow logs reveal is an incident of its own, open to the end: nobody fixed it.
    expect(transitions).toEqual([
      'replace:event:app-alb:address-set-changed:info',
      'linger:opened:app-alb:stale-address-at-risk:info',
      'linger:opened:web-stale:stale-address-at-risk:info',
      'release:opened:app-alb:stale-client-seen:critical',
      'release:opened:web-stale:stale-address-suspected:critical',
      'settled:resolved:web-stale:stale-address-suspected:critical',
    ]);
  });

  it('the text summary gives the detection time after the old nodes went silent', async () => {
    // Act
    const { stdout } = await run(process.execPath, [BIN, 'demo'], { timeout: 60_000, env: { ...process.env, NO_COLOR: '1' } });

    // Assess
    expect(stdout).toMatch(/first page after the retired nodes stopped answering: check 1 after they went silent, \d+\.\d s after/);
    expect(stdout).toContain('stale web tier at risk in the first check after the TTL ran out');
  });
});
