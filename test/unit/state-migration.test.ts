/**
 * The one migration of persisted state (src/core/state-migration.ts): a state directory written
 * by the version before (schema 1: an alert's status implied by `pending`, `resolving`, `event`;
 * per-kind keys) is read as today's, checked by the engine, and saved as schema 2.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { historyCommand } from '../../src/cli/commands/history.ts';
import { FileStore } from '../../src/adapters/local/file-store.ts';
import { STATE_SCHEMA_VERSION } from '../../src/core/constants.ts';
import { checkTargetState, loadStates } from '../../src/core/state.ts';
import { upgradeAlert } from '../../src/core/state-migration.ts';
import type { StoredAlert } from '../../src/core/state-migration.ts';

const AT = '2026-12-01T10:00:00.000Z';
const v1 = (key: string, kind: StoredAlert['kind'], over: Partial<StoredAlert> = {}): StoredAlert => ({
  key,
  target: 'app',
  kind,
  severity: 'warning',
  openedAt: AT,
  lastSeenAt: AT,
  notifications: 0,
  absentChecks: 0,
  summary: kind,
  ...over,
});

/** A state file exactly as schema version 1 wrote it (envelope and all). */
const VERSION_1_FILE = {
  schemaVersion: 1,
  state: {
    schemaVersion: 1,
    target: 'app',
    version: 12,
    updatedAt: AT,
    addresses: [{ address: '10.0.1.5', firstSeen: AT, lastSeen: AT }],
    alerts: {
      'app/current-address-unhealthy': v1('app/current-address-unhealthy', 'current-address-unhealthy', { pending: 1 }),
      'app/resolution-failed': v1('app/resolution-failed', 'resolution-failed', { lastNotifiedAt: AT, notifications: 1, absentChecks: 2, resolving: true }),
      'app/address-set-changed@event': v1('app/address-set-changed@event', 'address-set-changed', { severity: 'info', event: true }),
      // A per-kind key of an older scheme: it moves to its condition's key.
      'app/stale-address-suspected': v1('app/stale-address-suspected', 'stale-address-suspected', {
        severity: 'critical',
        lastNotifiedAt: AT,
        notifications: 1,
      }),
    },
  },
  changes: [],
};

describe('state schema 1 -> 2, at load', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ipdrift-migrate-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('each alert says where it stands; the old fields are gone', () => {
    // Act
    const pending = upgradeAlert(v1('k', 'current-address-unhealthy', { pending: 2 }));
    const resolving = upgradeAlert(v1('k', 'resolution-failed', { resolving: true }));
    const event = upgradeAlert(v1('k', 'address-set-changed', { event: true }));
    const open = upgradeAlert(v1('k', 'dns-lag'));
    const today = upgradeAlert({ ...v1('k', 'dns-lag'), status: 'resolving' });
    // Assess
    expect([pending.status, pending.seenChecks, resolving.status, event.status, open.status, today.status]).toEqual([
      'pending',
      2,
      'resolving',
      'event',
      'open',
      'resolving',
    ]);
    for (const a of [pending, resolving, event, open]) for (const old of ['pending', 'resolving', 'event']) expect(a).not.toHaveProperty(old);
  });

  it('a version-1 state file is read as version 2, and saved as version 2 with nothing lost', async () => {
    // Prepare
    await writeFile(join(dir, 'app.json'), JSON.stringify(VERSION_1_FILE));
    const store = new FileStore(dir);
    // Act
    const state = (await loadStates(store, ['app'])).get('app')!;
    await store.save({ ...state, version: 13 }, 12, []);
    const written = JSON.parse(await readFile(join(dir, 'app.json'), 'utf8'));
    const again = (await loadStates(new FileStore(dir), ['app'])).get('app')!;
    // Assess
    expect(state.schemaVersion).toBe(STATE_SCHEMA_VERSION);
    expect(Object.fromEntries(Object.entries(state.alerts).map(([k, a]) => [k, a.status]))).toEqual({
      'app/current-address-unhealthy': 'pending',
      'app/resolution-failed': 'resolving',
      'app/address-set-changed@event': 'event',
      'app/stale-upstream': 'open',
    });
    expect(state.alerts['app/current-address-unhealthy']?.seenChecks).toBe(1);
    expect(written.schemaVersion).toBe(2);
    expect(written.state.schemaVersion).toBe(2);
    expect(JSON.stringify(written)).not.toMatch(/"(pending|resolving|event)":/);
    expect(again.alerts).toEqual(state.alerts);
    expect(again.addresses).toEqual(VERSION_1_FILE.state.addresses);
  });

  it('history --json still shows the schema-1 fields beside status (scripts read them)', async () => {
    // Prepare
    await writeFile(join(dir, 'app.json'), JSON.stringify(VERSION_1_FILE));
    const printed: string[] = [];
    const log = vi.spyOn(console, 'log').mockImplementation((line: string) => void printed.push(line));
    try {
      // Act
      const code = await historyCommand(['app', '--state', dir, '--json']);
      // Assess
      expect(code).toBe(0);
      const alerts = JSON.parse(printed.join('\n')).alerts as Record<string, unknown>[];
      const byKey = Object.fromEntries(alerts.map((a) => [a.key, a]));
      expect(byKey['app/current-address-unhealthy']).toMatchObject({ status: 'pending', pending: 1 });
      expect(byKey['app/resolution-failed']).toMatchObject({ status: 'resolving', resolving: true });
      expect(byKey['app/address-set-changed@event']).toMatchObject({ status: 'event', event: true });
      expect(byKey['app/stale-upstream']).toMatchObject({ status: 'open' });
      expect(byKey['app/stale-upstream']).not.toHaveProperty('pending');
    } finally {
      log.mockRestore();
    }
  });

  it('a schema version it does not read is refused, the file left untouched', async () => {
    // Prepare
    const file = JSON.stringify({ ...VERSION_1_FILE, schemaVersion: 3, state: { ...VERSION_1_FILE.state, schemaVersion: 3 } });
    await writeFile(join(dir, 'app.json'), file);
    // Act / Assess
    await expect(loadStates(new FileStore(dir), ['app'])).rejects.toThrow('not an ipdrift state file of a schema version it reads (1, 2); left untouched');
    expect(await readFile(join(dir, 'app.json'), 'utf8')).toBe(file);
  });

  it('a state of a schema version it does not read, from a store without an envelope (DynamoDB), is refused at load', () => {
    // Prepare
    const state = { target: 'app', version: 1, addresses: [], alerts: {} };
    // Act / Assess
    expect(checkTargetState({ ...state, schemaVersion: 1 }, 'app', 'item app').schemaVersion).toBe(STATE_SCHEMA_VERSION);
    expect(() => checkTargetState({ ...state, schemaVersion: 3 }, 'app', 'item app')).toThrow(
      'item app: corrupt state (left untouched): schemaVersion: expected a schema version ipdrift reads (1, 2)',
    );
  });
});
