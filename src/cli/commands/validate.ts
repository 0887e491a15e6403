/** `ipdrift validate FILE`: checks a configuration and prints it with defaults applied. */
import { parse } from '../args.ts';
import { EXIT, UsageError } from '../errors.ts';
import { loadConfigFile } from '../load-config.ts';

export const VALIDATE_USAGE = `Usage: ipdrift validate FILE [--json]
       ipdrift validate --config FILE [--json]

Validates a configuration. Prints a summary (or, with --json, the configuration with every
default applied). Exit 0 when valid, 2 with one line per problem ("targets[1].port: ...") when not.`;

export async function validateCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { json: { type: 'boolean', default: false }, config: { type: 'string', short: 'c' } }, VALIDATE_USAGE);
  if (values.help) {
    console.log(VALIDATE_USAGE);
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
