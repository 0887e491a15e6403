import { beforeEach, describe, expect, it } from 'vitest';
import { mockClient } from 'aws-sdk-client-mock';
import { allCustomMatcher } from 'aws-sdk-client-mock-vitest';
import type {} from 'aws-sdk-client-mock-vitest/extend';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { NoticePublishError, SnsNotifier } from '../../src/adapters/aws/sns-notifier.ts';
import { NOTICE_LIMITS, capBytes, formatNotice, noticeSubject, toSubject } from '../../src/core/notice.ts';
import type { AlertTransition, Finding } from '../../src/core/types.ts';

expect.extend(allCustomMatcher);

const TOPIC = 'arn:aws:sns:ap-northeast-2:123456789012:ipdrift-oncall';
const EVENTS_TOPIC = 'arn:aws:sns:ap-northeast-2:123456789012:ipdrift-events';
const SNS_MAX_MESSAGE_BYTES = 256 * 1024;

const finding: Finding = {
  key: 'web/stale-address-confirmed',
  target: 'web',
  kind: 'stale-address-confirmed',
  severity: 'critical',
  summary: 'web: web tier reached retired app-alb address 10.0.1.23',
  evidence: { url: 'http://10.0.1.10/health', status: 200, echoAddress: '10.0.1.23', upstreamCurrent: ['10.0.1.30', '10.0.1.31'] },
  advice: 'Restart httpd now; add addressttl=30 to ProxyPass.',
};

const opened: AlertTransition = {
  type: 'opened',
  key: finding.key,
  target: 'web',
  kind: 'stale-address-confirmed',
  severity: 'critical',
  at: '2026-03-01T03:12:00.000Z',
  openedAt: '2026-03-01T03:00:00.000Z',
  summary: finding.summary,
  finding,
};

describe('SnsNotifier', () => {
  const sns = mockClient(SNSClient);
  beforeEach(() => {
    sns.reset();
  });

  it('publishes one message per transition with subject, attributes and an actionable body', async () => {
    // Prepare
    sns.on(PublishCommand).resolves({ MessageId: 'm-1' });
    const notifier = new SnsNotifier(new SNSClient({ region: 'ap-northeast-2' }), { onCall: TOPIC, events: EVENTS_TOPIC });
    // Act
    await notifier.notify(opened);
    // Assess
    expect(sns).toHaveReceivedCommandTimes(PublishCommand, 1);
    expect(sns).toHaveReceivedCommandWith(PublishCommand, {
      TopicArn: TOPIC,
      Subject: '[CRITICAL] web: stale address confirmed (10.0.1.23)',
      MessageAttributes: {
        severity: { DataType: 'String', StringValue: 'critical' },
        target: { DataType: 'String', StringValue: 'web' },
        kind: { DataType: 'String', StringValue: 'stale-address-confirmed' },
        transition: { DataType: 'String', StringValue: 'opened' },
        audience: { DataType: 'String', StringValue: 'on-call' },
      },
    });
    const body = sns.commandCalls(PublishCommand)[0]!.args[0].input.Message!;
    expect(body).toContain('OPENED: CRITICAL stale-address-confirmed on target "web"');
    expect(body).toContain('Open since:  2026-03-01T03:00:00.000Z (12 min)');
    expect(body).toContain('What to do:\n  Restart httpd now; add addressttl=30 to ProxyPass.');
    expect(body).toContain('  upstreamCurrent: 10.0.1.30, 10.0.1.31');
    // The JSON appendix parses back to the transition.
    expect(JSON.parse(body.slice(body.indexOf('Details (JSON):\n') + 'Details (JSON):\n'.length))).toEqual(opened);
  });

  it.each([
    // [transition, severity, topic]: pages to on-call (every transition of a warning or critical alert), the rest to events.
    ['opened', 'critical', TOPIC],
    ['updated', 'critical', TOPIC],
    ['reminder', 'warning', TOPIC],
    ['resolved', 'warning', TOPIC],
    ['event', 'info', EVENTS_TOPIC],
    ['event', 'warning', EVENTS_TOPIC],
  ] as const)('routes a %s transition of a %s finding to %s', async (type, severity, topic) => {
    // Prepare
    sns.on(PublishCommand).resolves({ MessageId: 'm-1' });
    const notifier = new SnsNotifier(new SNSClient({ region: 'ap-northeast-2' }), { onCall: TOPIC, events: EVENTS_TOPIC });
    // Act
    await notifier.notify({ ...opened, type, severity });
    // Assess: exactly one message, to one topic.
    expect(sns).toHaveReceivedCommandTimes(PublishCommand, 1);
    expect(sns.commandCalls(PublishCommand)[0]!.args[0].input).toMatchObject({
      TopicArn: topic,
      MessageAttributes: { audience: { DataType: 'String', StringValue: topic === TOPIC ? 'on-call' : 'events' } },
    });
  });

  it.each([
    ['updated', '[CRITICAL UPDATE] web: stale address confirmed (10.0.1.23)'],
    ['resolved', '[RESOLVED] web: stale address confirmed (10.0.1.23)'],
    ['reminder', '[REMINDER] web: stale address confirmed (10.0.1.23)'],
    ['event', '[CRITICAL] web: stale address confirmed (10.0.1.23)'],
  ] as const)('labels a %s transition "%s"', (type, subject) => {
    // Prepare / Act
    const t: AlertTransition = { ...opened, type, ...(type === 'resolved' ? { finding: undefined } : {}) };
    // Assess
    expect(noticeSubject(t)).toBe(subject);
    expect(formatNotice(t).attributes.transition).toBe(type);
  });

  it.each([
    ['app-alb: addresses changed (+10.0.0.3; -10.0.0.1)', '(+10.0.0.3, -10.0.0.1)'],
    ['web: fails (connection refused by 10.0.1.10:8080) at 2026-03-01T03:12:00.000Z', '(10.0.1.10)'],
    ['db: writer at fd00:1:2::3, not 2001:db8::1.', '(fd00:1:2::3, 2001:db8::1)'],
    ['web: slow (2100 ms, recent median 12 ms) at 03:12:00', ''],
  ])('names the addresses of "%s" in the subject as "%s"', (summary, detail) => {
    // Prepare / Act
    const subject = noticeSubject({ ...opened, summary });
    // Assess
    expect(subject).toBe(`[CRITICAL] web: stale address confirmed${detail ? ` ${detail}` : ''}`);
  });

  it('keeps the subject under 100 printable ASCII characters for a long, multi-line, non-ASCII summary', () => {
    // Prepare
    const addresses = Array.from({ length: 40 }, (_, i) => `10.0.${i}.1`);
    const t: AlertTransition = {
      ...opened,
      target: 'a-very-long-target-name-of-sixty-four-characters-0123456789abcdef',
      summary: `x: retired ${addresses.join(', ')} stopped answering\nüber alles`,
    };
    // Act
    const subject = noticeSubject(t);
    const shortName = noticeSubject({ ...t, target: 'app-alb' });
    const cut = toSubject(`${'word '.repeat(40)}\r\n\u0007é`);
    // Assess
    for (const s of [subject, shortName, cut]) {
      expect(s.length).toBeLessThan(100);
      expect(s).toMatch(/^[\x20-\x7e]+$/);
    }
    expect(shortName).toBe('[CRITICAL] app-alb: stale address confirmed (10.0.0.1, 10.0.1.1 +38 more)');
    expect(subject.endsWith('...')).toBe(true);
    expect(cut.endsWith('word...')).toBe(true);
  });

  it('caps the body far under 256 KB for huge evidence, says it was cut, and keeps the JSON valid', () => {
    // Prepare: 50,000 addresses and a 1 MB string.
    const huge: AlertTransition = {
      ...opened,
      finding: {
        ...finding,
        evidence: {
          addresses: Array.from({ length: 50_000 }, (_, i) => ({ address: `10.${i >> 16}.${(i >> 8) & 255}.${i & 255}`, probe: 'timeout' })),
          blob: 'x'.repeat(1024 * 1024),
        },
      },
    };
    // Act
    const body = formatNotice(huge).body;
    // Assess
    const bytes = Buffer.byteLength(body);
    expect(bytes).toBeLessThanOrEqual(NOTICE_LIMITS.bodyMaxBytes);
    expect(bytes).toBeLessThan(SNS_MAX_MESSAGE_BYTES);
    expect(body).toContain('... and 49980 more');
    expect(body).toContain('(1048576 chars)');
    const json = JSON.parse(body.slice(body.indexOf('Details (JSON):\n') + 'Details (JSON):\n'.length)) as AlertTransition;
    expect(json.finding?.evidence).toMatchObject({ truncated: true });
  });

  it('cuts text on a character boundary', () => {
    // Prepare / Act
    const cut = capBytes('한'.repeat(100), 50);
    // Assess
    expect(Buffer.byteLength(cut)).toBeLessThanOrEqual(50);
    expect(cut).not.toContain('\uFFFD');
    expect(cut.endsWith('[truncated]')).toBe(true);
  });

  it('throws when SNS refuses, naming the alert and keeping the SDK error as cause', async () => {
    // Prepare
    const refusal = Object.assign(new Error('User is not authorized to perform SNS:Publish'), { name: 'AuthorizationErrorException' });
    sns.on(PublishCommand).rejects(refusal);
    const notifier = new SnsNotifier(new SNSClient({ region: 'ap-northeast-2' }), { onCall: TOPIC, events: EVENTS_TOPIC });
    // Act
    const sent = notifier.notify(opened);
    // Assess
    await expect(sent).rejects.toBeInstanceOf(NoticePublishError);
    await expect(sent).rejects.toMatchObject({ key: opened.key, cause: refusal });
    await expect(sent).rejects.toThrow(/AuthorizationErrorException/);
  });
});
