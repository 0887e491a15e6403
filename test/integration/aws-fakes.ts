/**
 * Test and bench helper: SNS and CloudWatch on one loopback port, answering success as the
 * real services do (SNS query protocol XML, CloudWatch JSON 1.0), keeping what they received.
 */
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { once } from 'node:events';
import { gunzipSync } from 'node:zlib';
import { ENV } from '../../src/contract.ts';
import { TEST_CREDENTIALS, TEST_REGION } from './aws-dynalite.ts';

/** One request a fake AWS endpoint received. */
export interface Received {
  service: 'sns' | 'cloudwatch';
  body: string;
}

/** SNS (query protocol, XML) and CloudWatch (JSON 1.0) answering success on one port, keeping what they got. */
export async function startFakeAws(host: string): Promise<{ server: Server; received: Received[]; endpoint: string }> {
  const received: Received[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      // The SDK gzips large PutMetricData bodies.
      const body = (req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw).toString('utf8');
      if (String(req.headers['x-amz-target'] ?? '').startsWith('GraniteServiceVersion20100801.')) {
        received.push({ service: 'cloudwatch', body });
        res.writeHead(200, { 'content-type': 'application/x-amz-json-1.0' });
        res.end('{}');
        return;
      }
      received.push({ service: 'sns', body });
      res.writeHead(200, { 'content-type': 'text/xml' });
      res.end(
        '<PublishResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><PublishResult><MessageId>m-1</MessageId></PublishResult>' +
          '<ResponseMetadata><RequestId>r-1</RequestId></ResponseMetadata></PublishResponse>',
      );
    });
  });
  server.listen(0, host);
  await once(server, 'listening');
  return { server, received, endpoint: `http://${host}:${(server.address() as AddressInfo).port}` };
}

/** Where the bundle's SDK clients and settings point when it runs on loopback. */
export interface BundleEnvOptions {
  dynamodb: string;
  /** The fake SNS/CloudWatch endpoint. */
  fake: string;
  table: string;
  topicArn: string;
  eventsTopicArn: string;
  configFile: string;
}

/**
 * The environment of a process running dist/monitor.mjs's handler against loopback AWS: the
 * standard AWS_ENDPOINT_URL_* variables, dummy credentials, and the function's own settings.
 */
export function bundleEnv(o: BundleEnvOptions): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '',
    AWS_REGION: TEST_REGION,
    AWS_ACCESS_KEY_ID: TEST_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: TEST_CREDENTIALS.secretAccessKey,
    AWS_ENDPOINT_URL_DYNAMODB: o.dynamodb,
    AWS_ENDPOINT_URL_SNS: o.fake,
    AWS_ENDPOINT_URL_CLOUDWATCH: o.fake,
    [ENV.table]: o.table,
    [ENV.topicArn]: o.topicArn,
    [ENV.eventsTopicArn]: o.eventsTopicArn,
    [ENV.configFile]: o.configFile,
    // The SDK warns about node 20 on stderr; Lambda runs 22.
    NODE_NO_WARNINGS: '1',
  };
}
