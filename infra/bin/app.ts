/**
 * The ipdrift CDK app. Offline: no context lookup, no AWS call at synth.
 *
 *   npx tsx infra/bin/app.ts [-c config=ipdrift.config.json] [-c vpcId=vpc-... -c subnetIds=subnet-a,subnet-b]
 *   npx aws-cdk@2 deploy --app "npx tsx infra/bin/app.ts" -c config=...
 *
 * Context: config, stackName, vpcId, subnetIds, availabilityZones, securityGroupId,
 * alarmEmail, alarmHttpsUrl, eventsEmail, eventsHttpsUrl, codePath, shardSize, outsideVpc,
 * reserveConcurrency (see lib/app-context.ts).
 */
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { relative } from 'node:path';
import { performance } from 'node:perf_hooks';
import { contextFromArgv, settingsFromContext } from '../lib/app-context.ts';
import { MonitorStack } from '../lib/monitor-stack.ts';

/** Where a standalone synth writes the cloud assembly (git-ignored). */
const STANDALONE_OUTDIR = 'infra/cdk.out' as const;

const started = performance.now();
// The aws-cdk CLI sets CDK_OUTDIR and passes context itself; standalone, we do both.
const underCli = process.env.CDK_OUTDIR !== undefined;
const app = new App(underCli ? {} : { outdir: STANDALONE_OUTDIR, context: contextFromArgv(process.argv.slice(2)) });

const settings = settingsFromContext((key) => app.node.tryGetContext(key));
const account = process.env.CDK_DEFAULT_ACCOUNT;
const region = process.env.CDK_DEFAULT_REGION;
new MonitorStack(app, settings.stackName, {
  ...settings.props,
  description: 'ipdrift: synthetic monitor for DNS-based HA (ELB, web tiers, Aurora)',
  // Environment-agnostic unless the CLI (or the caller) names an account and region.
  ...(account !== undefined || region !== undefined ? { env: { account, region } } : {}),
});
// cdk-nag v3 is a CDK validation plugin: a finding nobody acknowledged fails the synth.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));

const assembly = app.synth();

if (!underCli) {
  // Standalone: the CLI is not there to print annotations or fail on errors, so we do.
  let errors = 0;
  for (const stack of assembly.stacks) {
    for (const m of stack.messages) {
      if (m.level === 'info') continue;
      if (m.level === 'error') errors++;
      process.stderr.write(`[${m.level}] ${m.id}: ${String(m.entry.data)}\n`);
    }
    const resources = Object.keys((stack.template as { Resources?: object }).Resources ?? {}).length;
    process.stdout.write(`${stack.stackName}: ${resources} resources -> ${relative(process.cwd(), stack.templateFullPath)}\n`);
  }
  process.stdout.write(`config ${relative(process.cwd(), settings.configPath)}; synth ${Math.round(performance.now() - started)} ms\n`);
  if (errors > 0) {
    process.stderr.write(`${errors} error annotation(s): fix them or suppress with a reason\n`);
    process.exitCode = 1;
  }
}
