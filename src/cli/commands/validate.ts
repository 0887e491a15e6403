/** `ipdrift validate FILE`: checks a configuration and prints it with defaults applied. */
import { parse } from '../args.ts';
import { EXIT, UsageError } from '../errors.ts';
import { loadConfigFile } from '../load-config.ts';
import { configJsonSchema } from '../../core/config-json-schema.ts';

export const VALIDATE_USAGE = `Usage: ipdrift validate FILE [--json]
       ipdrift validate --config FILE [--json]
       ipdrift validate --print-schema > config.schema.json

Validates a configuration. Prints a summary (or, with --json, the configuration with every
default applied). Each problem is one line with its path: a missing key, a wrong type (what
it got), an unknown key (the known one nearest to it), malformed JSON (line and column).
Editors complete and check the file with the JSON Schema: "$schema": "./config.schema.json"
next to it, from the package or from --print-schema (README, "Configuration").

Examples:
  ipdrift validate ipdrift.json
  ipdrift validate -c ipdrift.json --json        the config with every default applied

Exit status: 0 valid; 2 not (one line per problem: "targets[1].port: missing (...)").`;

export async function validateCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parse(
    argv,
    { json: { type: 'boolean', default: false }, config: { type: 'string', short: 'c' }, 'print-schema': { type: 'boolean', default: false } },
    VALIDATE_USAGE,
  );
  if (values.help) {
    console.log(VALIDATE_USAGE);
    return EXIT.ok;
  }
  if (values['print-schema']) {
    if (positionals.length > 0 || values.config !== undefined) throw new UsageError('--print-schema takes no FILE', VALIDATE_USAGE);
    console.log(JSON.stringify(configJsonSchema(), null, 2));
    return EXIT.ok;
  }
  // The file as the other commands take it (--config), or as a word.
  const files = [...positionals, ...(values.config !== undefined ? [values.config] : [])];
  if (files.length !== 1) throw new UsageError('expected exactly one FILE (or --config FILE)', VALIDATE_USAGE);
  const file = files[0]!;
  const config = await loadConfigFile(file, VALIDATE_USAGE);
  if (values.json) console.log(JSON.stringify(config, null, 2));
  else {
    console.log(`${file}: valid, ${config.targets.length} target(s)`);
    for (const t of config.targets) console.log(`  ${t.name.padEnd(20)} ${t.type.padEnd(9)} ${'host' in t ? `${t.host}:${t.port}` : t.url}`);
  }
  return EXIT.ok;
}
