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
    // The flow logs name the batch host by its interface and address; the stale tier's own
    // records join its confirmed finding.
    const batch = steps[2]!.findings.find((f) => f.kind === 'stale-client-seen') as { evidence: Record<string, unknown> } | undefined;
    expect(batch?.evidence).toMatchObject({ sourceAddress: '127.0.10.50', clientKind: 'interface', address: '127.0.10.11' });
    const tierEvidence = steps[2]!.findings.find((f) => f.kind === 'stale-address-confirmed') as { evidence: Record<string, unknown> } | undefined;
    expect(tierEvidence?.evidence.flowClients).toEqual(expect.arrayContaining([expect.objectContaining({ sourceAddress: '127.0.10.31' })]));
    // The stale tier's advice names httpd's own fix (its Server header says Apache).
    const confirmed = steps[2]!.findings.find((f) => f.kind === 'stale-address-confirmed');
    expect(confirmed?.advice).toContain('addressttl=');
    // Users saw what the incident is about: a stall through the stale tier once old addresses swallow.
    expect(steps[3]!.clients.find((c) => c.tier === 'web-stale')?.status).toBe(504);
    expect(steps[3]!.clients.find((c) => c.tier === 'web-fresh')?.status).toBe(200);
    // One incident, one page: opened once when the echo proves it, updated (not re-opened) when
    // users start failing, never resolved while they still fail, resolved after two clean checks.
    // The released nodes page nobody; the address change goes to the events topic.
    const transitions = steps.flatMap((s) => s.transitions.map((t) => `${s.step}:${t.type}:${t.target}:${t.kind}:${t.severity}`));
    // The batch host only the flow logs reveal is an incident of its own, open to the end: nobody fixed it.
    expect(transitions).toEqual([
      'replace:event:app-alb:address-set-changed:info',
      'linger:opened:app-alb:stale-client-seen:critical',
      'linger:opened:web-stale:stale-address-confirmed:critical',
      'release:updated:web-stale:stale-address-suspected:critical',
      'settled:resolved:web-stale:stale-address-suspected:critical',
    ]);
  });
});
