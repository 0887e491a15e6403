/**
 * The configuration's JSON Schema, generated from the zod schema (zod 4 `toJSONSchema`), so that
 * editors complete and check an ipdrift.json (README, "Configuration"). The package ships it as
 * `config.schema.json`; `ipdrift validate --print-schema` prints it. It describes what a file may
 * hold: checks that need code (a target's upstream exists, no secret in a URL) stay in
 * `ipdrift validate`.
 */
import * as z from 'zod';
import { configSchema } from './config.ts';

/** The schema as JSON (draft 2020-12), with a title; defaults shown, keys with one not required. */
export function configJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(configSchema, { target: 'draft-2020-12', io: 'input', unrepresentable: 'throw' });
  const { $schema, ...rest } = schema;
  return { $schema, title: 'ipdrift configuration', description: 'One JSON file of targets (README, "Configuration").', ...rest };
}
