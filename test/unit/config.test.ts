import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, formatPath, parseConfigText, parseResolver } from '../../src/core/config.ts';
import { DEFAULTS } from '../../src/core/constants.ts';

const FIXTURES = join(import.meta.dirname, '../fixtures/config');
const read = (name: string) => readFileSync(join(FIXTURES, name), 'utf8');

/** Every invalid-* fixture with the exact errors it must produce (blackbox_exporter style). */
const INVALID: Record<string, string[]> = {
  'invalid-duplicate-name.json': ['targets[1].name: duplicate target name "a" (also targets[0])'],
  'invalid-engine.json': ['targets[0].engine: expected "mysql" or "postgres"'],
  'invalid-host.json': ['targets[0].host: expected a DNS name or an IP address'],
  'invalid-metrics.json': ['metrics: expected "standard" or "minimal"'],
  'invalid-flow-logs.json': [
    "flowLogs.ignoreSources: required with CloudWatch flow logs: list the monitor's subnets (its probes of retired addresses are in the flow logs too)",
  ],
  'invalid-resolver-logs.json': ['resolverLogs.everyMinutes: expected at most 60 minutes', 'resolverLogs.lookbackMinutes: expected at least 1 minute'],
  // A password never goes in the config (it is bundled and shown): the key is refused, as is a short ARN.
  'invalid-login.json': [
    'targets[0].login.secretArn: expected a Secrets Manager secret ARN (arn:<partition>:secretsmanager:<region>:<account>:secret:<name>)',
    'targets[0].login: unknown key "password"',
  ],
  'invalid-malformed.json': ['(root): malformed JSON: Expected double-quoted property name at line 2, column 16'],
  'invalid-no-targets.json': ['targets: must list at least one target'],
  'invalid-port.json': ['targets[1].port: expected a port number 1-65535'],
  'invalid-protocol.json': ['targets[0].probe.protocol: expected one of tcp, tls, http, https'],
  'invalid-resolver.json': ['resolvers[0]: expected an IP address, optionally with :port ("10.0.0.2", "127.0.0.1:5353", "[::1]:53")'],
  'invalid-secret-aws-key.json': [
    'targets[0].probe.path: contains what looks like an AWS access key id: keep secrets out of the config (it is logged, bundled and shown)',
  ],
  'invalid-secret-path.json': [
    'targets[1].echo.path: path segment "jsessionid=..." looks like a secret: keep secrets out of the config (it is logged, bundled and shown)',
  ],
  'invalid-secret-query.json': [
    'targets[1].url: query parameter "api_key" looks like a secret: keep secrets out of the config (it is logged, bundled and shown)',
  ],
  'invalid-timeout.json': ['targets[0].timeoutMs: expected a positive number of milliseconds'],
  'invalid-type.json': ['targets[0].type: expected "type" to be one of "elb", "web-tier", "aurora"'],
  'invalid-unknown-key.json': ['targets[0]: unknown key "colour"'],
  'invalid-upstream.json': ['targets[1].upstream: no target named "nope"'],
  'invalid-url-credentials.json': ['targets[0].url: expected an http:// or https:// URL without credentials', 'targets[0].upstream: no target named "x"'],
  'invalid-missing-port.json': ['targets[0].port: missing (expected a port number 1-65535)'],
  'invalid-port-type.json': ['targets[0].port: expected a port number 1-65535, got a string'],
  'invalid-key-typos.json': [
    'targets[0].port: missing (expected a port number 1-65535)',
    'targets[0].probe.protocol: missing (expected one of tcp, tls, http, https)',
    'targets[0].probe: unknown key "protocl" (did you mean "protocol"?)',
    'targets[0]: unknown key "prot" (did you mean "port"?)',
    'resolverLogs.path: missing (expected a string)',
    'resolverLogs: unknown key "pth" (did you mean "path"?)',
    '(root): unknown key "metric" (did you mean "metrics"?)',
  ],
  'invalid-notify.json': [
    'notify[0].url: expected an http:// or https:// URL without credentials',
    'notify[0].audience: expected "on-call", "events" or "all"',
    'notify[1].command: expected the program and its arguments, e.g. ["/usr/local/bin/page-me"]',
    'notify[2].holdMinutes: expected at least 1 minute',
    'notify[2].labels.0team: expected a label name: letters, digits and "_", not starting with a digit',
    'notify[3].type: expected "type" to be one of "webhook", "exec", "alertmanager"',
    'notify[4]: unknown key "atempts" (did you mean "attempts"?)',
  ],
  'invalid-notify-names.json': ['notify[1].name: duplicate sink name "exec-1" (also notify[0])'],
  'invalid-url.json': [
    'targets[0].url: expected an http:// or https:// URL without credentials',
    'targets[0].upstream: "w" is a web-tier target; expected an elb target',
  ],
};

describe('config', () => {
  it('has an expectation for every invalid-* fixture', () => {
    // Prepare
    const files = readdirSync(FIXTURES)
      .filter((f) => f.startsWith('invalid-'))
      .sort();
    // Assess
    expect(files).toEqual(Object.keys(INVALID).sort());
  });

  it.each(Object.entries(INVALID))('%s fails with the exact path-named errors', (file, expected) => {
    // Prepare
    const text = read(file);
    // Act
    let error: unknown;
    try {
      parseConfigText(text, file);
    } catch (err) {
      error = err;
    }
    // Assess
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).issues).toEqual(expected);
    expect((error as ConfigError).message).toContain(`${file}: invalid configuration`);
  });

  it.each([
    [200, [200]],
    ['200-204', [200, 201, 202, 203, 204]],
    [
      [200, '301-302', 200],
      [200, 301, 302],
    ],
  ] as const)('probe.expectStatus %j reads as %j (a status, a range, or a list of them)', (given, want) => {
    const t = parseConfigText(
      JSON.stringify({ targets: [{ name: 'a', type: 'elb', host: 'a.example.com', port: 443, probe: { protocol: 'https', expectStatus: given } }] }),
    ).targets[0];
    expect(t?.type === 'elb' && t.probe.expectStatus).toEqual(want);
  });

  it.each([['abc'], [99], ['399-200'], [[]]])('probe.expectStatus %j is refused, naming the path', (given) => {
    const run = () =>
      parseConfigText(
        JSON.stringify({ targets: [{ name: 'a', type: 'elb', host: 'a.example.com', port: 443, probe: { protocol: 'https', expectStatus: given } }] }),
      );
    expect(run).toThrow('targets[0].probe.expectStatus: expected');
  });

  it('applies every default in one place', () => {
    // Act
    const config = parseConfigText(read('valid-full.json'));
    // Assess
    expect(config.deadlineMs).toBe(DEFAULTS.checkDeadlineMs);
    for (const t of config.targets) {
      expect(t).toMatchObject({ timeoutMs: 2000, retainRetiredMinutes: 1440, renotifyMinutes: 60, resolveAfterChecks: 2 });
    }
    const db = config.targets[2];
    expect(db?.type === 'aurora' && db.dnsLagWarnSeconds).toBe(10);
    const elb = parseConfigText('{"targets":[{"name":"a","type":"elb","host":"a.example.com","port":443}]}').targets[0];
    const withResolver = parseConfigText(
      '{"resolverLogs":{"source":"file","path":"q.log"},"targets":[{"name":"a","type":"elb","host":"a.example.com","port":443}]}',
    );
    expect(withResolver.resolverLogs).toEqual({
      source: 'file',
      path: 'q.log',
      everyMinutes: 0,
      lookbackMinutes: DEFAULTS.resolverLookbackMinutes,
      censusEveryMinutes: 0,
      cachingAfterSeconds: DEFAULTS.cachingAfterSeconds,
      clientCacheSeconds: DEFAULTS.clientCacheSeconds,
    });
    expect(elb?.type === 'elb' && elb.probe).toEqual({ protocol: 'tcp', path: '/' });
  });

  it.each([
    ['10.0.0.2', { host: '10.0.0.2', port: 53 }],
    ['127.0.0.1:5353', { host: '127.0.0.1', port: 5353 }],
    ['[::1]:5300', { host: '::1', port: 5300 }],
    ['::1', { host: '::1', port: 53 }],
    ['dns.google', undefined],
    ['10.0.0.2:0', undefined],
    ['10.0.0.2:99999', undefined],
  ])('parseResolver(%s)', (spec, expected) => {
    // Act / Assess
    expect(parseResolver(spec)).toEqual(expected);
  });

  it.each([
    [['targets', 1, 'port'], 'targets[1].port'],
    [['resolvers', 0], 'resolvers[0]'],
    [[], '(root)'],
  ] as const)('formatPath(%j) = %s', (path, expected) => {
    expect(formatPath(path)).toBe(expected);
  });
});
