/**
 * AWS on loopback for the bench's Lambda check, in a process of its own so that its CPU is not
 * the function's: DynamoDB (dynalite with the tests' TransactWriteItems front) and one endpoint
 * answering SNS and CloudWatch. Prints one result line with the endpoints, then runs until its
 * stdin closes.
 *
 * Usage (from bench/run.ts, bundled first): node aws-child.mjs TABLE
 */
import { startFakeAws } from '../test/integration/aws-fakes.ts';
import { startLocalDynamo } from '../test/integration/aws-dynalite.ts';
import { RESULT_PREFIX } from './common.ts';

/** What the parent needs to point the SDK here. */
export interface AwsEndpoints {
  dynamodb: string;
  /** SNS and CloudWatch. */
  fake: string;
}

const table = process.argv[2];
if (!table) {
  console.error('usage: aws-child TABLE');
  process.exit(2);
}
const dynamo = await startLocalDynamo();
await dynamo.createTable(table);
const fake = await startFakeAws('127.0.0.1');
process.stdout.write(`${RESULT_PREFIX}${JSON.stringify({ dynamodb: dynamo.endpoint, fake: fake.endpoint } satisfies AwsEndpoints)}\n`);
process.stdin.resume();
process.stdin.once('end', async () => {
  fake.server.closeAllConnections();
  fake.server.close();
  await dynamo.stop();
  process.exit(0);
});
