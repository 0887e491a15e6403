/** The `ipdrift` command: dispatches to subcommands and maps failures to exit codes. */
import { ConfigError } from '../core/config.ts';
import { StateError } from '../core/ports.ts';
import { printable } from '../adapters/local/printable.ts';
import { EXIT, UsageError } from './errors.ts';
import { closest } from '../core/suggest.ts';

export const USAGE = `ipdrift: watch DNS-based high-availability endpoints (ELB, Aurora) and the web tiers
that cache their addresses.

Usage: ipdrift <command> [options]

Commands:
  start       the main job: "watch" with --config FILE, otherwise "demo" (what npm start runs)
  demo        replay the stale-address incident in an offline lab (default for npm start);
              "demo aurora": an Aurora failover and its DNS lag, in the lab
  check       one check of every target in a config
  watch       checks every interval, printing alert transitions
  validate    validate a config file
  history     address changes and alerts of one target
  report      one HTML picture of the history: address lanes, incidents, failovers
  cost        monthly AWS cost of the stack for a config, line by line
  preflight   before a deploy: what the VPC and the config need, each item with its fix
  failover-drill  fail an Aurora cluster over and measure the timeline (dry run without --yes)

Run "ipdrift <command> --help" for a command's options, examples and exit status.

Exit status (check, watch): 0 no paging alert is open; 1 a paging alert is open; 2 usage, config
or state error; 3 the check could not complete; 128+N stopped by signal N. Other commands say
theirs in their --help.`;

type Command = (argv: string[]) => Promise<number>;

/** `ipdrift start --help` (what `npm start` runs). */
const START_USAGE = `Usage: ipdrift start [--config FILE [watch options]]   (npm start -- [options])

Without --config: the offline lab replays the stale-address incident (= ipdrift demo; see
"ipdrift demo --help"). With --config FILE: watches your endpoints (= ipdrift watch; see
"ipdrift watch --help" for --interval, --count, --state, --json).

Examples:
  npm start                                   the lab demo, about 25 s
  npm start -- --config ipdrift.json          a check every 10 s, notices as they happen
  npm start -- --config ipdrift.json -n 1     one check, then exit like "ipdrift check"

Exit status: as "ipdrift demo" without --config, as "ipdrift watch" with it.`;

const COMMANDS: Record<string, () => Promise<Command>> = {
  check: async () => (await import('./commands/check.ts')).checkCommand,
  watch: async () => (await import('./commands/watch.ts')).watchCommand,
  validate: async () => (await import('./commands/validate.ts')).validateCommand,
  history: async () => (await import('./commands/history.ts')).historyCommand,
  report: async () => (await import('./commands/report.ts')).reportCommand,
  demo: async () => (await import('./commands/demo.ts')).demoCommand,
  cost: async () => (await import('./commands/cost.ts')).costCommand,
  preflight: async () => (await import('./commands/preflight.ts')).preflightCommand,
  'failover-drill': async () => (await import('./commands/failover-drill.ts')).failoverDrillCommand,
  // npm start: real endpoints when given a config, the offline lab otherwise.
  start: async () => async (argv) => {
    // Its own help: which of the two it runs, and how to reach each one's options.
    if (argv.length === 1 && (argv[0] === '--help' || argv[0] === '-h')) {
      console.log(START_USAGE);
      return EXIT.ok;
    }
    const cmd = await (argv.some((a) => a === '--config' || a === '-c' || a.startsWith('--config=')) ? COMMANDS.watch!() : COMMANDS.demo!());
    return cmd(argv);
  },
};

/**
 * `ipdrift check | head -1`: once the reader is gone, stop quietly with the exit code so far
 * (no EPIPE stack trace); any other stream error is still an error.
 */
function quietOnClosedPipe(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EPIPE') throw err;
      process.exit(typeof process.exitCode === 'number' ? process.exitCode : EXIT.ok);
    });
  }
}

/** Runs the CLI; returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  quietOnClosedPipe();
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(USAGE);
    return name ? EXIT.ok : EXIT.usage;
  }
  if (name === '--version' || name === '-V') {
    console.log('ipdrift 0.1.0');
    return EXIT.ok;
  }
  const load = COMMANDS[name];
  if (!load) {
    const near = closest(name, Object.keys(COMMANDS));
    console.error(`ipdrift: unknown command "${printable(name)}"${near ? `; did you mean "${near}"?` : ''} (ipdrift --help lists the commands)`);
    return EXIT.usage;
  }
  try {
    return await (await load())(rest);
  } catch (err) {
    if (err instanceof UsageError) {
      // The one thing wrong and where the options are; the whole usage would bury it.
      console.error(`ipdrift ${name}: ${printable(err.message)}${err.usage ? ` (ipdrift ${name} --help lists its options)` : ''}`);
      return EXIT.usage;
    }
    if (err instanceof ConfigError || err instanceof StateError) {
      console.error(`ipdrift ${name}: ${printable(err.message)}`);
      return EXIT.usage;
    }
    console.error(`ipdrift ${name}: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    return EXIT.internal;
  }
}
