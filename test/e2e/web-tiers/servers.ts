/**
 * The three real web servers: where their binaries are, how their configuration is rendered
 * from the templates in `conf/`, and the command lines that test, start (in the foreground) and
 * identify them. Used by the parent (to skip or fail when a server is missing) and the runner.
 */
import { accessSync, constants as fsConstants, existsSync, readFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import type { ConfigKind, ServerId } from './layout.ts';
import { NS, TIMING } from './layout.ts';

/** Directory of the configuration templates. */
export const CONF_DIR = join(import.meta.dirname, 'conf');

/** Where the sbin binaries are when PATH lacks them (a non-login root shell on Debian). */
const SBIN_DIRS = ['/usr/local/sbin', '/usr/sbin', '/sbin'];

/** Apache httpd module directories: Debian, then RHEL/Fedora layouts. */
const APACHE_MODULE_DIRS = ['/usr/lib/apache2/modules', '/usr/lib64/httpd/modules', '/usr/lib/httpd/modules'];

/** How one server is found, configured and run. */
export interface ServerDef {
  id: ServerId;
  /** Name for people (the matrix). */
  label: string;
  /** Binary names to look for, in order. */
  binaries: readonly string[];
  /** Template file per configuration, in `conf/`. */
  templates: Record<ConfigKind, string>;
  /** Template of a configuration that follows DNS and pools upstream connections (the `pooled` story), when the server has one. */
  pooledTemplate?: string;
  /** What the config file is called in the scenario's temp dir. */
  configFile: string;
  /** Arguments that print the version; `versionPattern`'s first group is the version number. */
  versionArgs: readonly string[];
  versionPattern: RegExp;
  /** Arguments that check the configuration without starting. */
  testArgs(conf: string, dir: string): string[];
  /** Arguments that run the server in the foreground, logging to stderr or its error log. */
  startArgs(conf: string, dir: string): string[];
  /** The server's error log in the temp dir (tail reported on failure). */
  errorLog(dir: string): string;
  /** The word the advice must contain: the server's own fix. */
  fixWord: string;
  /**
   * Whether the ipdrift target needs the `server` hint. httpd passes the upstream's `Server`
   * header through on proxied answers and HAProxy adds none, so neither names itself; nginx does.
   */
  needsHint: boolean;
}

/** The three servers, by id. */
export const SERVER_DEFS: Record<ServerId, ServerDef> = {
  apache: {
    id: 'apache',
    label: 'Apache httpd',
    binaries: ['apache2', 'httpd'],
    templates: { stale: 'httpd-stale.conf', fresh: 'httpd-fresh.conf' },
    configFile: 'httpd.conf',
    versionArgs: ['-v'],
    versionPattern: /Apache\/([\d.]+)/,
    testArgs: (conf) => ['-t', '-f', conf],
    // -DFOREGROUND: the parent stays attached (no daemon), children forked as usual.
    startArgs: (conf) => ['-DFOREGROUND', '-f', conf],
    errorLog: (dir) => join(dir, 'error.log'),
    fixWord: 'addressttl',
    needsHint: true,
  },
  nginx: {
    id: 'nginx',
    label: 'nginx',
    binaries: ['nginx'],
    templates: { stale: 'nginx-stale.conf', fresh: 'nginx-fresh.conf' },
    configFile: 'nginx.conf',
    versionArgs: ['-v'],
    versionPattern: /nginx\/([\d.]+)/,
    // -p: relative paths and the default temp paths under the temp dir; -e: the start-up log too.
    testArgs: (conf, dir) => ['-t', '-p', dir, '-e', join(dir, 'error.log'), '-c', conf, '-g', 'daemon off;'],
    startArgs: (conf, dir) => ['-p', dir, '-e', join(dir, 'error.log'), '-c', conf, '-g', 'daemon off;'],
    errorLog: (dir) => join(dir, 'error.log'),
    fixWord: 'resolver',
    needsHint: false,
  },
  haproxy: {
    id: 'haproxy',
    label: 'HAProxy',
    binaries: ['haproxy'],
    templates: { stale: 'haproxy-stale.cfg', fresh: 'haproxy-fresh.cfg' },
    pooledTemplate: 'haproxy-pooled.cfg',
    configFile: 'haproxy.cfg',
    versionArgs: ['-v'],
    versionPattern: /HAProxy version ([\d.]+)/,
    testArgs: (conf) => ['-c', '-f', conf],
    // -db: foreground, no daemon; logs go to stderr (global `log stderr`).
    startArgs: (conf) => ['-db', '-f', conf],
    errorLog: (dir) => join(dir, 'stderr.log'),
    fixWord: 'resolvers',
    needsHint: true,
  },
};

function isExecutable(path: string): boolean {
  try {
    accessSync(path, fsConstants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Absolute path of the first of `names` found on PATH or in the sbin directories. */
export function findBinary(names: readonly string[]): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter).filter(Boolean), ...SBIN_DIRS];
  for (const name of names) for (const dir of dirs) if (isExecutable(join(dir, name))) return join(dir, name);
  return undefined;
}

/** Apache's module directory, when one with mod_proxy_http exists. */
export function apacheModuleDir(): string | undefined {
  return APACHE_MODULE_DIRS.find((d) => existsSync(join(d, 'mod_proxy_http.so')));
}

/** What `server` needs that is missing here, or undefined when it can run. */
export function missingFor(server: ServerId): string | undefined {
  const def = SERVER_DEFS[server];
  if (!findBinary(def.binaries))
    return `${def.label}: none of ${def.binaries.join(', ')} found (apt-get install ${server === 'apache' ? 'apache2' : server === 'nginx' ? 'nginx-light' : 'haproxy'})`;
  if (server === 'apache' && !apacheModuleDir()) return `Apache httpd: mod_proxy_http.so not found in ${APACHE_MODULE_DIRS.join(', ')}`;
  return undefined;
}

/** Fills `{{NAME}}` placeholders; throws when one is left unfilled (a typo in a template). */
export function renderTemplate(text: string, vars: Readonly<Record<string, string | number>>): string {
  const out = text.replace(/\{\{([A-Z_]+)\}\}/g, (whole, name: string) => (name in vars ? String(vars[name]) : whole));
  // The comment lines mention `{{PLACEHOLDERS}}` on purpose; anything else left over is an error.
  const left = [...out.matchAll(/\{\{([A-Z_]+)\}\}/g)].map((m) => m[1]).filter((n) => n !== 'PLACEHOLDERS');
  if (left.length > 0) throw new Error(`template placeholders not filled: ${[...new Set(left)].join(', ')}`);
  return out;
}

/** The configuration text of `server` / `kind` (or its pooled one), for a scenario whose temp dir is `dir`. */
export function renderConfig(server: ServerId, kind: ConfigKind, dir: string, pooled = false): string {
  const def = SERVER_DEFS[server];
  if (pooled && !def.pooledTemplate) throw new Error(`${def.label} has no pooled configuration here`);
  const text = readFileSync(join(CONF_DIR, pooled ? def.pooledTemplate! : def.templates[kind]), 'utf8');
  return renderTemplate(text, {
    DIR: dir,
    MODULES: apacheModuleDir() ?? APACHE_MODULE_DIRS[0]!,
    LISTEN_HOST: NS.webHost,
    LISTEN_PORT: NS.webPort,
    UPSTREAM_HOST: NS.elbName,
    UPSTREAM_PORT: NS.nodePort,
    DNS_HOST: NS.dnsHost,
    DNS_TTL_S: TIMING.ttlSeconds,
    PROXY_TIMEOUT_S: TIMING.proxyTimeoutSeconds,
  });
}
