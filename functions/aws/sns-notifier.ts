/**
 * SNS notifier: one Publish per alert transition. The words come from core/notice.ts; this file
 * only maps them onto PublishCommand. A failed Publish throws, so the engine keeps the alert
 * unnotified and sends it again on the next check (no lost alert).
 */
import { PublishCommand } from '@aws-sdk/client-sns';
import type { MessageAttributeValue, PublishCommandInput, SNSClient } from '@aws-sdk/client-sns';
import { formatNotice } from '../core/notice.ts';
import type { NoticeAttributes } from '../core/notice.ts';
import type { Notifier } from '../core/ports.ts';
import type { AlertTransition } from '../core/types.ts';

/** SNS did not accept a notice; `cause` is the SDK error. */
export class NoticePublishError extends Error {
  override readonly name = 'NoticePublishError';
  constructor(readonly key: string, readonly topicArn: string, options?: { cause?: unknown }) {
    const why = options?.cause instanceof Error ? `${options.cause.name}: ${options.cause.message}` : String(options?.cause);
    super(`SNS publish of ${key} to ${topicArn} failed (${why})`, options);
  }
}

/** The Publish input for one transition (exported for tests and the CLI's dry runs). */
export function publishInput(topicArn: string, t: AlertTransition): PublishCommandInput {
  const notice = formatNotice(t);
  const attributes: Record<string, MessageAttributeValue> = {};
  for (const [name, value] of Object.entries(notice.attributes) as [keyof NoticeAttributes, string][]) {
    attributes[name] = { DataType: 'String', StringValue: value };
  }
  return { TopicArn: topicArn, Subject: notice.subject, Message: notice.body, MessageAttributes: attributes };
}

/** Notifier that publishes each transition to one SNS topic. */
export class SnsNotifier implements Notifier {
  constructor(
    private readonly client: SNSClient,
    /** The on-call topic. */
    readonly topicArn: string,
  ) {}

  async notify(t: AlertTransition): Promise<void> {
    try {
      await this.client.send(new PublishCommand(publishInput(this.topicArn, t)));
    } catch (err) {
      throw new NoticePublishError(t.key, this.topicArn, { cause: err });
    }
  }
}
