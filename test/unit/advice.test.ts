import { describe, expect, it } from 'vitest';
import { adviceFor, compareVersions, serverFix, serverInfo } from '../../src/core/advice.ts';

describe('serverInfo', () => {
  it.each([
    ['Apache/2.4.57 (Debian)', undefined, { server: 'apache', version: '2.4.57' }],
    ['Apache', undefined, { server: 'apache' }],
    ['nginx/1.22.1', undefined, { server: 'nginx', version: '1.22.1' }],
    ['openresty/1.25.3.1', undefined, { server: 'nginx', version: '1.25.3' }],
    ['HAProxy/2.6.12', undefined, { server: 'haproxy', version: '2.6.12' }],
    // ServerTokens Minor: 2.4 is before and after every fix, so no version.
    ['Apache/2.4', undefined, { server: 'apache' }],
    // Tomcat's connector is not Apache httpd.
    ['Apache-Coyote/1.1', undefined, undefined],
    // httpd and HAProxy pass the upstream's header through: the hint wins over another server's name.
    ['nginx/1.22.1', 'haproxy', { server: 'haproxy' }],
    ['ipdrift-lab-node', 'apache', { server: 'apache' }],
    [undefined, undefined, undefined],
  ] as const)('%s (hint %s) -> %o', (header, hint, want) => {
    expect(serverInfo(header, hint)).toEqual(want);
  });

  it('compares versions numerically', () => {
    expect([
      compareVersions('2.4.9', '2.4.59'),
      compareVersions('2.4.59', '2.4.59'),
      compareVersions('1.28', '1.27.3'),
      compareVersions('1.27.2', '1.27.3'),
    ]).toEqual([-1, 0, 1, -1]);
  });
});

describe('advice that knows versions', () => {
  it.each([
    // [server, version, must contain, must not contain]
    ['apache', '2.4.57', ['Apache httpd 2.4.57 has no `addressttl` (2.4.59+)', 'Upgrade to 2.4.60', 'disablereuse=On'], []],
    ['apache', '2.4.59', ['BZ 69126', 'upgrade to 2.4.60+'], ['has no `addressttl`']],
    ['apache', '2.4.62', ['add `addressttl=30`'], ['Upgrade', 'has no']],
    ['apache', undefined, ['On httpd 2.4.60+ add `addressttl=30`', 'older versions have no `addressttl` (2.4.59+)'], []],
    ['nginx', '1.22.1', ['nginx 1.22.1', 'no `server ... resolve` in open source (1.27.3+', 'set $up', 'ipv6=off'], []],
    ['nginx', '1.28.0', ['`server NAME:PORT resolve;`', '`zone up 64k;`'], ['set $up']],
    ['nginx', undefined, ['Since 1.27.3', 'set $up'], []],
    ['haproxy', '2.6.12', ['HAProxy 2.6.12', '`resolvers vpc`', 'init-addr last,none', 'server-template'], []],
  ] as const)('%s %s', (server, version, has, hasNot) => {
    const text = serverFix({ server, ...(version ? { version } : {}) });
    for (const s of has) expect(text).toContain(s);
    for (const s of hasNot) expect(text).not.toContain(s);
  });

  it('stale kinds without a known server get the generic fix, with the JVM and pool facts', () => {
    const text = adviceFor('stale-address-suspected');
    expect(text).toContain('networkaddress.cache.ttl');
    expect(text).toContain('keep-alive');
  });
});
