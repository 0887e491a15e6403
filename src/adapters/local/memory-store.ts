/** In-memory Store: the lab demo and tests (same optimistic-locking semantics as the others). */
import type { Store } from '../../core/ports.ts';
import { VersionConflictError } from '../../core/ports.ts';
import type { ChangeRecord, TargetState } from '../../core/types.ts';

export class MemoryStore implements Store {
  readonly states = new Map<string, TargetState>();
  readonly changes: ChangeRecord[] = [];

  async load(targets: readonly string[]) {
    return new Map(targets.map((t) => [t, structuredClone(this.states.get(t))] as const));
  }

  async save(state: TargetState, expectedVersion: number, changes: readonly ChangeRecord[]) {
    if ((this.states.get(state.target)?.version ?? 0) !== expectedVersion) throw new VersionConflictError(state.target, expectedVersion);
    this.states.set(state.target, structuredClone({ ...state, version: expectedVersion + 1 }));
    this.changes.push(...changes);
  }

  async history(target: string, limit: number) {
    return this.changes
      .filter((c) => c.target === target)
      .slice(-limit)
      .reverse();
  }
}
