/**
 * Random faults, check after check, against the lab: DNS faults, address moves, nodes that
 * refuse or stall, a notifier that fails and a metrics sink that throws. After every check:
 * bounded duration, failed lookups typed and harmless to history, every notified alert had its
 * "opened" delivered, every "resolved" came after its "opened", no address ever seen is lost,
 * one "opened" per alert. Once the faults stop, every alert and event has been delivered.
 *
 * Replay a failure with the seed it prints:
 *   IPDRIFT_PROPERTY_SEED=<seed> npx vitest run test/faults/soak.test.ts   (fast-check property)
 *   IPDRIFT_SOAK_SEED=<seed> npx vitest run test/faults/soak.test.ts       (500-check soak)
 * IPDRIFT_SOAK_CHECKS=<n> changes the soak's length.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NodeMode } from '../../lab/nodes.ts';
import { FAULT_BLOCKS, Rng, seedFromEnv } from './harness.ts';
import { DNS_STEP_FAULTS, FaultWorld, Ledger, MAX_ANSWER_SIZE, randomStep } from './world.ts';
import type { DnsStepFault, NotifierMood, Step } from './world.ts';

/** Tiny timeouts keep 500 checks fast; a stalled node costs one probe timeout. */
const PROBE_TIMEOUT_MS = 100;
const DNS_TIMEOUT_MS = 100;
const DEADLINE_MS = 3000;
const SOAK_CHECKS = Number(process.env.IPDRIFT_SOAK_CHECKS ?? 500);
/** Fault-free checks at the end: resolveAfterChecks (2) + 1, so every resolving alert finishes. */
const RECOVERY_CHECKS = 3;
/** fast-check runs and the length of each run's fault sequence. */
const PROPERTY_RUNS = 6;
const PROPERTY_STEPS = { minLength: 3, maxLength: 10 } as const;
/** Wall-clock bounds of the two tests (vitest's default is 30 s). */
const PROPERTY_TIMEOUT_MS = 60_000;
const SOAK_TIMEOUT_MS = 120_000;

/** fast-check's steps: mostly quiet, with every kind of fault reachable. */
function stepArb(world: FaultWorld): fc.Arbitrary<Step> {
  const dns = fc.oneof(
    { weight: 3, arbitrary: fc.constant<DnsStepFault>('none') },
    { weight: 2, arbitrary: fc.constantFrom<DnsStepFault>(...DNS_STEP_FAULTS) },
  );
  const mode = fc.oneof({ weight: 6, arbitrary: fc.constant(null) }, { weight: 2, arbitrary: fc.constantFrom<NodeMode>('serve', 'refuse', 'swallow') });
  return fc.record({
    dns: fc.record(Object.fromEntries(world.elbTargets.map((t) => [t, dns]))),
    moves: fc.record(
      Object.fromEntries(
        world.elbTargets.map((t) => [
          t,
          fc.oneof(
            { weight: 3, arbitrary: fc.constant(null) },
            { weight: 1, arbitrary: fc.subarray([...world.pools.get(t)!], { minLength: 1, maxLength: MAX_ANSWER_SIZE }) },
          ),
        ]),
      ),
    ),
    modes: fc.record(Object.fromEntries([...world.nodes.keys()].map((a) => [a, mode]))),
    notifier: fc.constantFrom<NotifierMood>('ok', 'flaky', 'down'),
    metricsFail: fc.boolean(),
    seed: fc.integer({ min: 0, max: 0x7fffffff }),
  });
}

/** Runs `steps`, then RECOVERY_CHECKS fault-free checks, and returns the ledger. */
async function runSequence(world: FaultWorld, steps: Iterable<Step>): Promise<Ledger> {
  await world.reset();
  const ledger = new Ledger(world);
  let i = 0;
  for (const step of steps) {
    await ledger.step(step, `check ${++i}`);
    if (ledger.violations.length > 0) return ledger; // stop at the first broken invariant
  }
  for (let r = 1; r <= RECOVERY_CHECKS; r++) await ledger.step(world.healthyStep(), `recovery check ${r}`);
  ledger.verifyRecovered('after recovery');
  return ledger;
}

describe('random faults, check after check', () => {
  let world: FaultWorld;

  beforeAll(async () => {
    world = await FaultWorld.start({ block: FAULT_BLOCKS.soak, probeTimeoutMs: PROBE_TIMEOUT_MS, dnsTimeoutMs: DNS_TIMEOUT_MS, deadlineMs: DEADLINE_MS });
  });
  afterAll(async () => {
    await world.stop();
  });

  it(
    'property (fast-check): the invariants hold after every check of any fault sequence',
    async () => {
      // Prepare
      const seed = seedFromEnv('IPDRIFT_PROPERTY_SEED');
      // Act / Assess: fast-check prints the counterexample; the seed replays it.
      try {
        await fc.assert(
          fc.asyncProperty(fc.array(stepArb(world), PROPERTY_STEPS), async (steps) => {
            const ledger = await runSequence(world, steps);
            expect(ledger.violations).toEqual([]);
          }),
          // No shrinking by default: each run is real I/O. IPDRIFT_PROPERTY_SHRINK=1 shrinks a failure.
          { seed, numRuns: PROPERTY_RUNS, endOnFailure: !process.env.IPDRIFT_PROPERTY_SHRINK },
        );
      } catch (err) {
        throw new Error(`fault property failed; replay with IPDRIFT_PROPERTY_SEED=${seed}\n${(err as Error).message}`, { cause: err });
      }
    },
    PROPERTY_TIMEOUT_MS,
  );

  it(
    `soak: ${SOAK_CHECKS} checks with seeded random faults, then recovery: no alert lost`,
    async () => {
      // Prepare
      const seed = seedFromEnv('IPDRIFT_SOAK_SEED');
      const rng = new Rng(seed);
      const started = Date.now();
      // Act
      const ledger = await runSequence(
        world,
        (function* () {
          for (let i = 0; i < SOAK_CHECKS; i++) yield randomStep(rng, world);
        })(),
      );
      // Assess
      const figures = ledger.figures();
      console.log(`[faults soak] seed=${seed} (replay: IPDRIFT_SOAK_SEED=${seed}) wall=${Date.now() - started} ms\n${JSON.stringify(figures, null, 2)}`);
      expect(ledger.violations, `soak failed; replay with IPDRIFT_SOAK_SEED=${seed}`).toEqual([]);
      expect(figures.checks).toBe(SOAK_CHECKS + RECOVERY_CHECKS);
      expect(figures.alerts.lost).toBe(0);
      expect(figures.events.lost).toBe(0);
      // The run did meet faults and alerts (a soak of nothing proves nothing).
      expect(figures.faults.dns).toBeGreaterThan(0);
      expect(figures.faults.notifierFailures).toBeGreaterThan(0);
      expect(figures.alerts.opened).toBeGreaterThan(0);
    },
    SOAK_TIMEOUT_MS,
  );
});
