/**
 * The local adapters the cold-init harness hands to the bundle's `createHandler`, bundled apart
 * from the harness and loaded after the bundle, so that the import figure is the bundle's alone.
 */
export { MemoryStore } from '../src/adapters/local/memory-store.ts';
export { ConsoleNotifier } from '../src/adapters/local/console.ts';
export { parseConfigText } from '../src/core/config.ts';
