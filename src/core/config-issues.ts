/**
 * Config errors that teach (README, "Configuration"): a key that is missing is said to be missing,
 * a value of the wrong type says what it got, and an unknown key gets the known key closest to it
 * at that place ("did you mean"). zod's own issue gives the path and the rule; this adds what the
 * input held there.
 */
import type * as z from 'zod';
import { closest } from './suggest.ts';

/** The parts of a zod 4 schema definition this walk reads (zod's `_zod.def`). */
interface Def {
  type: string;
  shape?: Record<string, z.ZodType>;
  element?: z.ZodType;
  innerType?: z.ZodType;
  in?: z.ZodType;
  options?: z.ZodType[];
  discriminator?: string;
  values?: unknown[];
}

const defOf = (schema: z.ZodType): Def => (schema as unknown as { _zod: { def: Def } })._zod.def;

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The object schemas that may apply to `input` (a discriminated union picks its member by the input's tag). */
function objectsOf(schema: z.ZodType, input: unknown): Def[] {
  const def = defOf(schema);
  switch (def.type) {
    case 'object':
      return [def];
    case 'optional':
    case 'default':
    case 'prefault':
    case 'nullable':
    case 'readonly':
      return objectsOf(def.innerType!, input);
    case 'pipe':
      return objectsOf(def.in!, input);
    case 'union': {
      const options = def.options ?? [];
      const tag = def.discriminator && isRecord(input) ? input[def.discriminator] : undefined;
      const matching = options.filter((o) => objectsOf(o, input).some((d) => defOf(d.shape![def.discriminator!] ?? o).values?.includes(tag)));
      return (matching.length ? matching : options).flatMap((o) => objectsOf(o, input));
    }
    default:
      return [];
  }
}

/** The schema at `path` inside `schema`, following the input (array items, union members). */
function schemaAt(schema: z.ZodType, input: unknown, path: readonly PropertyKey[]): { schema: z.ZodType; input: unknown } | undefined {
  let here = schema;
  let value = input;
  for (const step of path) {
    const def = unwrap(here);
    if (typeof step === 'number' && def.type === 'array') here = def.element!;
    else {
      const next = objectsOf(here, value)
        .map((d) => d.shape?.[String(step)])
        .find((s) => s !== undefined);
      if (!next) return undefined;
      here = next;
    }
    value = isRecord(value) || Array.isArray(value) ? (value as Record<PropertyKey, unknown>)[step as string] : undefined;
  }
  return { schema: here, input: value };
}

function unwrap(schema: z.ZodType): Def {
  const def = defOf(schema);
  if (def.innerType) return unwrap(def.innerType);
  if (def.type === 'pipe') return unwrap(def.in!);
  return def;
}

/** The keys an object at `path` may have. */
export function knownKeysAt(schema: z.ZodType, input: unknown, path: readonly PropertyKey[]): string[] {
  const at = schemaAt(schema, input, path);
  if (!at) return [];
  return [...new Set(objectsOf(at.schema, at.input).flatMap((d) => Object.keys(d.shape ?? {})))];
}

/** The value the input holds at `path`, and whether its parent object has that key at all. */
function inputAt(input: unknown, path: readonly PropertyKey[]): { present: boolean; value: unknown } {
  let value = input;
  for (const step of path) {
    if (!(isRecord(value) || Array.isArray(value)) || !Object.hasOwn(value, step as string)) return { present: false, value: undefined };
    value = (value as Record<PropertyKey, unknown>)[step as string];
  }
  return { present: true, value };
}

/** "a string", "an array", "null": what a JSON value is, never the value (it may be a secret). */
export function jsonTypeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'boolean') return 'true or false';
  return typeof value === 'string' ? 'a string' : `a ${typeof value}`;
}

/** zod's default text (`Invalid input: expected string, received number`) as ours: `expected a string`. */
function expectedText(message: string): string {
  const m = /^Invalid input: expected (\w+)/.exec(message);
  if (!m) return message;
  const what = m[1]!;
  return `expected ${/^[aeiou]/.test(what) ? 'an' : 'a'} ${what === 'boolean' ? 'true or false' : what}`.replace('a true or false', 'true or false');
}

/**
 * One zod issue as the line the user reads after `path: `. `input` is the parsed JSON the issue
 * is about, `schema` the schema it was checked against.
 */
export function issueText(issue: z.core.$ZodIssue, input: unknown, schema: z.ZodType): string {
  if (issue.code === 'unrecognized_keys') {
    const here = inputAt(input, issue.path).value;
    const known = knownKeysAt(schema, input, issue.path).filter((k) => !(isRecord(here) && Object.hasOwn(here, k)));
    const keys = issue.keys.map((k) => {
      const near = closest(k, known);
      return `"${k}"${near ? ` (did you mean "${near}"?)` : ''}`;
    });
    return `unknown key${keys.length > 1 ? 's' : ''} ${keys.join(', ')}`;
  }
  const at = inputAt(input, issue.path);
  // A rule that already says the key is required (flowLogs.ignoreSources) needs no "missing".
  if (!at.present && issue.path.length > 0) return issue.message.startsWith('required') ? issue.message : `missing (${expectedText(issue.message)})`;
  if (issue.code === 'invalid_type') return `${expectedText(issue.message)}, got ${jsonTypeOf(at.value)}`;
  return issue.message;
}
