import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { INCIDENT_STEPS } from '../../lab/incident.ts';

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
        expect({ step: step.id, target, kinds: got }).toEqual({ step: step.id, target, kinds: [...kinds].sort() });
      }
    }
    // The fresh tier is never flagged, in any step.
    expect(steps.flatMap((s) => s.findings).filter((f) => f.target === 'web-fresh')).toEqual([]);
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
    expect(transitions).toEqual([
      'replace:event:app-alb:address-set-changed:info',
      'linger:opened:web-stale:stale-address-confirmed:critical',
      'release:updated:web-stale:stale-address-suspected:critical',
      'settled:resolved:web-stale:stale-address-suspected:critical',
    ]);
  });
});
