/**
 * The engine with the real SNS and CloudWatch adapters (SDK mocked): a refused Publish is
 * reported undelivered and goes out on the next check; CloudWatch down never stops alerts.
 * Real DNS (lab server) and real probes on loopback.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { mockClient } from 'aws-sdk-client-mock';
import { allCustomMatcher } from 'aws-sdk-client-mock-vitest';
import type {} from 'aws-sdk-client-mock-vitest/extend';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { CloudWatchClient, PutMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { LabDnsServer } from '../../lab/dns-server.ts';
import { LabNode } from '../../lab/nodes.ts';
import { runCheck } from '../../src/core/check.ts';
import { parseConfig } from '../../src/core/config.ts';
import type { Config } from '../../src/core/config.ts';
import { MemoryStore } from '../../src/adapters/local/memory-store.ts';
import { SnsNotifier } from '../../src/adapters/aws/sns-notifier.ts';
import { CloudWatchSink } from '../../src/adapters/aws/cloudwatch-sink.ts';

expect.extend(allCustomMatcher);

// Addresses of this file: 127.0.61.0/24.
const ADDR = { dns: '127.0.61.1', old: '127.0.61.11', new: '127.0.61.12' } as const;
const ELB = 'internal-app.elb.test';
const TOPIC = 'arn:aws:sns:us-east-1:123456789012:oncall';
const EVENTS_TOPIC = 'arn:aws:sns:us-east-1:123456789012:events';
const MINUTE_MS = 60_000;

describe('engine + SNS/CloudWatch adapters', () => {
  const sns = mockClient(SNSClient);
  const cw = mockClient(CloudWatchClient);
  let dns: LabDnsServer;
  let oldNode: LabNode;
  let newNode: LabNode;
  let config: Config;

  beforeAll(async () => {
    dns = await LabDnsServer.start({ host: ADDR.dns });
    oldNode = await LabNode.start({ host: ADDR.old });
    newNode = await LabNode.start({ host: ADDR.new, port: oldNode.port });
    config = parseConfig({
      resolvers: [dns.address],
      allowLoopback: true,
      // openAfterChecks 1: delivery is under test here, not the warning debounce.
      targets: [
        { name: 'app-alb', type: 'elb', host: ELB, port: oldNode.port, timeoutMs: 500, openAfterChecks: 1, probe: { protocol: 'http', path: '/health' } },
      ],
    });
  });
  afterAll(async () => {
    await Promise.all([oldNode.stop(), newNode.stop(), dns.stop()]);
  });
  beforeEach(async () => {
    sns.reset();
    cw.reset();
    await Promise.all([oldNode.setMode('serve'), newNode.setMode('serve')]);
    dns.setA(ELB, [ADDR.old], 1);
  });

  /** Checks with a clock one minute further each time. */
  function checker(store: MemoryStore) {
    let minute = 0;
    const deps = {
      store,
      notifier: new SnsNotifier(new SNSClient({ region: 'us-east-1' }), { onCall: TOPIC, events: EVENTS_TOPIC }),
      metrics: new CloudWatchSink(new CloudWatchClient({ region: 'us-east-1' })),
      clock: { now: () => new Date(Date.UTC(2026, 2, 1) + minute * MINUTE_MS) },
    };
    return async () => {
      minute++;
      return runCheck(config, deps);
    };
  }

  /**
   * DNS moves the name to the new node and the old one stops answering (information: the ELB
   * released it); the new node refuses too (a warning: a current address fails).
   */
  async function replaceNode() {
    dns.setA(ELB, [ADDR.new], 1);
    await Promise.all([oldNode.setMode('refuse'), newNode.setMode('refuse')]);
  }

  /** `transition:kind@topic` of each Publish. */
  const published = () =>
    sns.commandCalls(PublishCommand).map((c) => {
      const { MessageAttributes: a, TopicArn } = c.args[0].input;
      return `${a!.transition!.StringValue}:${a!.kind!.StringValue}@${TopicArn === TOPIC ? 'on-call' : TopicArn === EVENTS_TOPIC ? 'events' : TopicArn}`;
    });
  const WANT = ['event:address-set-changed@events', 'opened:current-address-unhealthy@on-call'];

  it('reports a refused Publish as undelivered and sends it on the next check, once', async () => {
    // Prepare: a first check records the old address; then the node is replaced and SNS is down.
    cw.on(PutMetricDataCommand).resolves({});
    sns.on(PublishCommand).resolves({ MessageId: 'ok' });
    const check = checker(new MemoryStore());
    await check();
    await replaceNode();
    sns.on(PublishCommand).rejects(Object.assign(new Error('Service unavailable'), { name: 'InternalErrorException' }));
    // Act
    const down = await check();
    sns.reset();
    sns.on(PublishCommand).resolves({ MessageId: 'ok' });
    const up = await check();
    const after = published();
    const quiet = await check();
    // Assess
    expect(down.transitions.map((t) => `${t.type}:${t.kind}`).sort()).toEqual(['event:address-set-changed', 'opened:current-address-unhealthy']);
    expect(down).toMatchObject({ delivered: 0, undelivered: 2 });
    expect(down.errors.filter((e) => e.startsWith('notify '))).toHaveLength(2);
    expect(down.errors.join('\n')).toContain('InternalErrorException');
    expect(up).toMatchObject({ delivered: 2, undelivered: 0 });
    expect(after.sort()).toEqual(WANT);
    expect(quiet.transitions).toEqual([]);
    expect(sns).toHaveReceivedCommandTimes(PublishCommand, 2);
  });

  it('still publishes alerts when CloudWatch is down, and says metrics failed', async () => {
    // Prepare
    cw.on(PutMetricDataCommand).rejects(Object.assign(new Error('Rate exceeded'), { name: 'Throttling' }));
    sns.on(PublishCommand).resolves({ MessageId: 'ok' });
    const check = checker(new MemoryStore());
    await check();
    await replaceNode();
    // Act
    const report = await check();
    // Assess
    expect(cw).toHaveReceivedCommand(PutMetricDataCommand);
    expect(report.errors).toEqual([expect.stringMatching(/^metrics: CloudWatch PutMetricData failed for 1 of 1 request\(s\) \(Throttling: Rate exceeded\)$/)]);
    expect(report).toMatchObject({ delivered: 2, undelivered: 0 });
    expect(published().sort()).toEqual(WANT);
  });
});
