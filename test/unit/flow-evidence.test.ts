/** When the flow evidence is read, and what stands between reads (pure, with a fake source). */
import { ProblemLog } from '../../src/core/problems.ts';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/core/config.ts';
import type { ElbTarget } from '../../src/core/config.ts';
import { readFlowEvidence } from '../../src/core/flow-evidence.ts';
import type { Observed } from '../../src/core/targets/types.ts';
import type { TargetState } from '../../src/core/types.ts';
import { DEFAULT_FLOW_FORMAT, parseFlowFormat, parseFlowLine } from '../../src/core/flow-log.ts';
import type { FlowRecord } from '../../src/core/flow-log.ts';
import { STATE_SCHEMA_VERSION } from '../../src/core/constants.ts';

const V2 = parseFlowFormat(DEFAULT_FLOW_FORMAT);

const T0 = Date.parse('2026-12-01T10:00:00Z');
const MIN = 60_000;
const LINE = (at: number) => `2 123456789012 eni-0client 10.0.5.7 10.0.1.5 40001 443 6 3 180 ${Math.floor(at / 1000)} ${Math.floor(at / 1000) + 1} ACCEPT OK`;
const config = parseConfig({
  flowLogs: { source: 'cloudwatch', logGroup: '/vpc/flow', everyMinutes: 5, ignoreSources: ['10.0.8.0/24'] },
  targets: [{ name: 'app-alb', type: 'elb', host: 'internal-app.elb.test', port: 443, probe: { protocol: 'tcp' } }],
});
const target = config.targets[0] as ElbTarget;

function observed(previousFlow?: TargetState['flow']): Map<string, Observed> {
  const previous: TargetState = {
    schemaVersion: STATE_SCHEMA_VERSION,
    target: 'app-alb',
    version: 1,
    addresses: [],
    alerts: {},
    ...(previousFlow ? { flow: previousFlow } : {}),
  };
  const records = [
    {
      address: '10.0.1.5',
      firstSeen: new Date(T0 - 60 * MIN).toISOString(),
      lastSeen: new Date(T0 - 30 * MIN).toISOString(),
      retiredAt: new Date(T0 - 30 * MIN).toISOString(),
      ttl: 60,
    },
  ];
  return new Map([['app-alb', { target, previous, records, probes: new Map() } as Observed]]);
}

describe('readFlowEvidence', () => {
  it('reads when due, keeps the read time even when it found nobody, and carries the last clients in between', async () => {
    // Prepare
    let reads = 0;
    let lines: string[] = [LINE(T0 - MIN)];
    const source = {
      read: async () => {
        reads++;
        return { records: lines.map((l) => (parseFlowLine(l, V2) as { record: FlowRecord }).record), rows: lines.length, scannedBytes: 1000 };
      },
    };
    const run = async (at: number, prev?: TargetState['flow']) => {
      const o = observed(prev);
      const figures = await readFlowEvidence(config, o, source, new Date(at), AbortSignal.timeout(1000), new ProblemLog());
      return { figures, flow: o.get('app-alb')!.flow };
    };
    // Act
    const first = await run(T0);
    const between = await run(T0 + 2 * MIN, first.flow);
    lines = [];
    const next = await run(T0 + 5 * MIN, between.flow);
    const quietBetween = await run(T0 + 6 * MIN, next.flow);
    // Assess
    expect(first.figures).toEqual({ lines: 1, matched: 1, clients: 1, scannedBytes: 1000 });
    expect(first.flow?.clients.map((c) => c.client)).toEqual(['10.0.5.7']);
    expect(between.figures).toBeUndefined();
    expect(between.flow).toEqual(first.flow);
    expect(next.flow).toEqual({ queriedAt: new Date(T0 + 5 * MIN).toISOString(), clients: [] });
    expect(quietBetween.flow).toEqual(next.flow);
    expect(reads).toBe(2);
  });

  it('a failed read is an error line; the last read stands and the next check tries again', async () => {
    // Prepare
    const errors = new ProblemLog();
    const prev = { queriedAt: new Date(T0 - 10 * MIN).toISOString(), clients: [] };
    const o = observed(prev);
    // Act
    const figures = await readFlowEvidence(
      config,
      o,
      { read: async () => Promise.reject(new Error('AccessDeniedException')) },
      new Date(T0),
      AbortSignal.timeout(1000),
      errors,
    );
    // Assess
    expect(figures).toBeUndefined();
    expect(errors.lines).toEqual(['flow logs: AccessDeniedException']);
    expect(o.get('app-alb')!.flow).toEqual(prev);
  });
});
