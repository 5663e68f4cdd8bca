import type { Logger } from '../log.js';
import { pushRequest } from '../push/payload.js';
import type { PushMessage, PushProvider, PushResult } from '../push/provider.js';

/**
 * The default `PushProvider`: writes each push to the log (info) as the HTTP
 * provider would send it, the token shortened to its last 8 characters, and
 * answers `ok`. For development and for deployments without push.
 */
export class LogPushProvider implements PushProvider {
  readonly name = 'log';

  constructor(private readonly log: Logger) {}

  async send(message: PushMessage): Promise<PushResult> {
    const request = { ...pushRequest(message), token: `…${message.token.slice(-8)}` };
    if (request.platform === 'fcm') request.message = { ...request.message, token: request.token };
    this.log.info({ push: request }, 'push (PUSH_PROVIDER=log: not sent anywhere)');
    return { outcome: 'ok' };
  }
}
