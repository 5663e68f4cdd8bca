/**
 * RFC 6455 §4.2.1/§4.4: a server speaks version 13 only, and answers an
 * upgrade with any other `Sec-WebSocket-Version` with 426 Upgrade Required and
 * `Sec-WebSocket-Version: 13`, so the client can retry with a version both
 * speak. Both engines would accept version 8 (an old draft) on their own.
 */
export const WS_VERSION = '13';

export interface VersionRefusal {
  status: 426;
  reason: 'Upgrade Required';
  headers: Record<string, string>;
  message: string;
}

export function versionRefusal(version: string | undefined): VersionRefusal | undefined {
  if (version?.trim() === WS_VERSION) return undefined;
  return {
    status: 426,
    reason: 'Upgrade Required',
    headers: { 'sec-websocket-version': WS_VERSION },
    message: `bad_request: Sec-WebSocket-Version must be ${WS_VERSION}`,
  };
}
