/**
 * SNS notifier: one Publish per alert transition, to the topic of its audience (core/notice.ts
 * `audienceOf`): pages to the on-call topic, information to the events topic. Two topics rather
 * than one with a filter policy: a subscription added by hand (console, a paging integration)
 * to the on-call topic gets only pages without anyone remembering a filter. The words come from
 * core/notice.ts; this file only maps them onto PublishCommand. A failed Publish throws, so the
 * engine keeps the alert unnotified and sends it again on the next check (no lost alert).
 */
import { PublishCommand } from '@aws-sdk/client-sns';
import type { MessageAttributeValue, PublishCommandInput, SNSClient } from '@aws-sdk/client-sns';
import { audienceOf, formatNotice } from '../../core/notice.ts';
import type { Audience, NoticeAttributes } from '../../core/notice.ts';
import type { Notifier } from '../../core/ports.ts';
import type { AlertTransition } from '../../core/types.ts';
import { errorWithName } from '../../core/error-text.ts';
import { IpdriftError } from '../../core/errors.ts';

/** SNS did not accept a notice; `cause` is the SDK error. */
export class NoticePublishError extends IpdriftError {
  override readonly name = 'NoticePublishError';
  readonly code = 'notice-publish';
  constructor(
    readonly key: string,
    readonly topicArn: string,
    options?: { cause?: unknown },
  ) {
    const why = errorWithName(options?.cause);
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

/** The topic of each audience. */
export interface NoticeTopics {
  /** Pages: warning and critical alerts (opened, updated, reminder, resolved). */
  onCall: string;
  /** For reading later: address changes, writer changes, failover timelines. */
  events: string;
}

/** Notifier that publishes each transition to its audience's SNS topic. */
export class SnsNotifier implements Notifier {
  constructor(
    private readonly client: SNSClient,
    readonly topics: NoticeTopics,
  ) {}

  /** The topic a transition goes to. */
  topicFor(t: Pick<AlertTransition, 'type' | 'severity'>): string {
    const audience: Audience = audienceOf(t);
    return audience === 'on-call' ? this.topics.onCall : this.topics.events;
  }

  async notify(t: AlertTransition): Promise<void> {
    const topicArn = this.topicFor(t);
    try {
      await this.client.send(new PublishCommand(publishInput(topicArn, t)));
    } catch (err) {
      throw new NoticePublishError(t.key, topicArn, { cause: err });
    }
  }
}
