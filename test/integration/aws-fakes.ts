/**
 * Test and bench helper: SNS and CloudWatch on one loopback port, answering success as the
 * real services do (SNS query protocol XML, CloudWatch JSON 1.0), keeping what they received.
 */
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { once } from 'node:events';
import { gunzipSync } from 'node:zlib';

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
