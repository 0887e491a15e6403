/**
 * Plays the incident scenario against the engine: one check after each step, with the
 * findings and alert transitions each produced. Shared by `ipdrift demo` and the e2e test.
 */
import { performance } from 'node:perf_hooks';
import { runCheck } from '../src/core/check.ts';
import { parseConfig } from '../src/core/config.ts';
import type { Config } from '../src/core/config.ts';
import type { Store } from '../src/core/ports.ts';
import type { CheckReport } from '../src/core/report.ts';
import type { AlertTransition, Clock } from '../src/core/types.ts';
import { MemoryStore } from '../src/adapters/local/memory-store.ts';
import { ConsoleNotifier } from '../src/adapters/local/console.ts';
import { FileFlowSource } from '../src/adapters/local/flow-file.ts';
import { FileResolverSource } from '../src/adapters/local/resolver-file.ts';
import { INCIDENT_STEPS, startIncidentLab } from './incident.ts';
import { labGet } from './client.ts';
import type { IncidentStep } from './incident.ts';

/** What one step produced. */
export interface StepOutcome {
  step: IncidentStep;
  /** Seconds since the scenario started, when the step's act was done (before its check). */
  actedAtSeconds: number;
  /** Seconds since the scenario started, when the step's check finished. */
  atSeconds: number;
  report: CheckReport;
  transitions: AlertTransition[];
  /** What a user's request through each web tier saw right before the check. */
  clients: ClientView[];
}

/** One request through a web tier, as a user would make it. */
export interface ClientView {
  tier: string;
  status: number | 'error';
  ms: number;
  upstream?: string;
}

/** Bound on a user's request in the lab: longer than the web tier's own upstream timeout. */
const CLIENT_TIMEOUT_MS = 5000;

async function clientView(tier: string, url: string): Promise<ClientView> {
  try {
    const res = await labGet(`${url}/whoami`, CLIENT_TIMEOUT_MS);
    return { tier, status: res.status, ms: Math.round(res.ms), ...(res.status === 200 ? { upstream: res.body.trim() } : {}) };
  } catch {
    return { tier, status: 'error', ms: CLIENT_TIMEOUT_MS };
  }
}

/** Plays every step; `onStep` sees each outcome as it happens (live output). */
export async function playIncident(opts: {
  block?: number;
  clock: Clock;
  onStart?: (title: string) => void;
  onStep?: (o: StepOutcome) => void;
  /** Where state and history go (default: a fresh MemoryStore); `demo --report` reads it after. */
  store?: Store;
  /** Sees the lab's config once it is up (its addresses are only known then). */
  onConfig?: (config: Config) => void;
  /** Flow and resolver query logs in the lab, and the batch host only they reveal (the demo has them). */
  flow?: boolean;
}): Promise<StepOutcome[]> {
  const lab = await startIncidentLab({ ...(opts.block !== undefined ? { block: opts.block } : {}), ...(opts.flow ? { flow: true } : {}) });
  const flowSource = lab.flow ? new FileFlowSource(lab.flow.path) : undefined;
  const resolverSource = lab.flow ? new FileResolverSource(lab.flow.resolverPath) : undefined;
  const t0 = performance.now();
  try {
    const config = parseConfig(lab.config, 'lab');
    opts.onConfig?.(config);
    const store = opts.store ?? new MemoryStore();
    const outcomes: StepOutcome[] = [];
    for (const step of INCIDENT_STEPS) {
      opts.onStart?.(step.title);
      await step.act(lab);
      const actedAtSeconds = (performance.now() - t0) / 1000;
      const clients = await Promise.all([clientView('web-stale', lab.stale.url), clientView('web-fresh', lab.fresh.url)]);
      const transitions: AlertTransition[] = [];
      const report = await runCheck(config, {
        store,
        notifier: new ConsoleNotifier((t) => transitions.push(t)),
        clock: opts.clock,
        ...(flowSource ? { flowSource } : {}),
        ...(resolverSource ? { resolverSource } : {}),
      });
      const outcome = { step, actedAtSeconds, atSeconds: (performance.now() - t0) / 1000, report, transitions, clients };
      outcomes.push(outcome);
      opts.onStep?.(outcome);
    }
    return outcomes;
  } finally {
    await lab.stop();
  }
}
