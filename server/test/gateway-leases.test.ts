import type { ServerMessage } from '@shutter/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultAuthorizer, type StreamLease, type SubscribeAuthorizer } from '../src/gateway/authorize.js';
import type { ShutterNode } from '../src/node.js';
import { RawClient } from './helpers/raw-client.js';
import { devToken, startTestNode, TRANSPORTS, wsUrl } from './helpers/test-node.js';
import { sleep, until } from './helpers/wait.js';

/**
 * Leased subscriptions in the gateway, on both engines, with a test rule:
 * `view:<name>` streams are granted under a 1.5 s lease (refused to anyone
 * in `refused`), every other kind by the default rule. What the lease's
 * hooks heard is recorded per stream.
 */
const LEASE_MS = 1500;

describe.each(TRANSPORTS)('leased subscriptions on %s', (transport) => {
  let node: ShutterNode;
  let url: string;
  const clients: RawClient[] = [];
  const heard: string[] = [];
  const refused = new Set<string>();
  const lease: StreamLease = {
    ms: LEASE_MS,
    view: (stream, h) => heard.push(`view ${stream} ${h.userId}`),
    leave: (stream, h) => heard.push(`leave ${stream} ${h.userId}`),
  };
  const authorize: SubscribeAuthorizer = (userId, stream) =>
    stream.startsWith('view:') ? !refused.has(userId) && lease : defaultAuthorizer(userId, stream);
  const of = (stream: string) => heard.filter((h) => h.split(' ')[1] === stream);
  const open = async (user: string) => {
    const c = await RawClient.open(url, await devToken(node, user));
    clients.push(c);
    return c;
  };
  const lapseNotice = (stream: string) => (m: ServerMessage) =>
    m.t === 'notice' && m.kind === 'lease_expired' && m.stream === stream;

  beforeAll(async () => {
    node = await startTestNode(transport, {}, undefined, { authorize });
    url = wsUrl(node);
  });
  afterAll(async () => {
    for (const c of clients) c.close();
    await node.shutdown();
  });

  it('answers leaseMs; sub again renews (renewed, nothing replayed or sent twice) and keeps it past the lease', async () => {
    const c = await open('renewer');
    const stream = `view:${transport}-renew`;
    expect(await c.call({ t: 'sub', stream })).toMatchObject({
      t: 'res',
      result: { status: 'fresh', seq: 0, missed: 0, leaseMs: LEASE_MS },
    });
    await node.hub.publish(stream, 1);
    await c.next((m) => m.t === 'ev' && m.stream === stream);
    const started = Date.now();
    // Renew at about half the lease for three leases.
    while (Date.now() - started < 3 * LEASE_MS) {
      await sleep(LEASE_MS / 2);
      const r = await c.call({ t: 'sub', stream, from: { epoch: 'ignored', seq: 0 } });
      expect(r).toEqual({
        t: 'res',
        id: (r as { id: number }).id,
        result: { status: 'renewed', leaseMs: LEASE_MS },
      });
    }
    await node.hub.publish(stream, 2);
    await c.next((m) => m.t === 'ev' && m.stream === stream && m.seq === 2);
    await sleep(100);
    expect(c.events(stream).map((e) => e.data)).toEqual([1, 2]);
    expect(c.messages.some(lapseNotice(stream))).toBe(false);
    const views = of(stream).filter((h) => h.startsWith('view'));
    expect(views.length).toBeGreaterThanOrEqual(5);
    expect(of(stream).filter((h) => h.startsWith('leave'))).toEqual([]);
    expect(await c.call({ t: 'unsub', stream })).toMatchObject({ t: 'res', result: {} });
    expect(of(stream).filter((h) => h.startsWith('leave'))).toEqual([`leave ${stream} renewer`]);
    // A plain stream still refuses a second sub.
    const plain = await c.call({ t: 'sub', stream: 'topic:plain' });
    expect(plain).toMatchObject({ t: 'res', result: { status: 'fresh' } });
    expect((plain as { result: object }).result).not.toHaveProperty('leaseMs');
    expect(await c.call({ t: 'sub', stream: 'topic:plain' })).toMatchObject({
      t: 'err',
      code: 'already_subscribed',
    });
  });

  it('lapses a lease not renewed: lease_expired notice within the lease and a sweep, leave heard once, no more events; a new sub starts over', async () => {
    const c = await open('forgetful');
    const stream = `view:${transport}-lapse`;
    const lapsedBefore = node.gateway.counters.leasesLapsed;
    await c.call({ t: 'sub', stream });
    const subAt = Date.now();
    const notice = await c.next(lapseNotice(stream), LEASE_MS + 3000);
    const after = Date.now() - subAt;
    expect(notice).toEqual({ t: 'notice', kind: 'lease_expired', stream });
    expect(after).toBeGreaterThanOrEqual(LEASE_MS - 50);
    expect(after).toBeLessThan(LEASE_MS + 1500);
    expect(of(stream)).toEqual([`view ${stream} forgetful`, `leave ${stream} forgetful`]);
    expect(node.gateway.counters.leasesLapsed).toBe(lapsedBefore + 1);
    await node.hub.publish(stream, 'after the lapse');
    await sleep(200);
    expect(c.events(stream)).toEqual([]);
    expect(await c.call({ t: 'unsub', stream })).toMatchObject({ t: 'err', code: 'not_subscribed' });
    // Subscribing again is a new subscription, with a new lease.
    expect(await c.call({ t: 'sub', stream })).toMatchObject({
      t: 'res',
      result: { status: 'fresh', seq: 1, leaseMs: LEASE_MS },
    });
    await node.hub.publish(stream, 'again');
    expect(await c.next((m) => m.t === 'ev' && m.stream === stream)).toMatchObject({ seq: 2, data: 'again' });
  });

  it('unsub and a closed socket each end a lease once; a renewal refused ends it with forbidden', async () => {
    const c = await open('leaver');
    const a = `view:${transport}-unsub`;
    const b = `view:${transport}-close`;
    await c.call({ t: 'sub', stream: a });
    await c.call({ t: 'sub', stream: b });
    expect(await c.call({ t: 'unsub', stream: a })).toMatchObject({ t: 'res', result: {} });
    expect(of(a)).toEqual([`view ${a} leaver`, `leave ${a} leaver`]);
    c.close();
    await c.waitClosed();
    await until(() => of(b).length === 2, 5000, 'the close to end the lease');
    expect(of(b)).toEqual([`view ${b} leaver`, `leave ${b} leaver`]);

    const m = await open('mallory');
    const s = `view:${transport}-refused`;
    await m.call({ t: 'sub', stream: s });
    refused.add('mallory');
    expect(await m.call({ t: 'sub', stream: s })).toMatchObject({ t: 'err', code: 'forbidden' });
    expect(of(s)).toEqual([`view ${s} mallory`, `leave ${s} mallory`]);
    await node.hub.publish(s, 'hidden');
    await sleep(200);
    expect(m.events(s)).toEqual([]);
    expect(await m.call({ t: 'unsub', stream: s })).toMatchObject({ t: 'err', code: 'not_subscribed' });
    // No notice follows for a subscription that already ended.
    await sleep(LEASE_MS + 1200);
    expect(m.messages.some(lapseNotice(s))).toBe(false);
  });

  it('sub, unsub, sub of a leased stream sent at once end subscribed once, and renewals keep their order', async () => {
    const c = await open('racer');
    const stream = `view:${transport}-race`;
    const ids = [c.id(), c.id(), c.id(), c.id()];
    c.send({ t: 'sub', id: ids[0]!, stream });
    c.send({ t: 'unsub', id: ids[1]!, stream });
    c.send({ t: 'sub', id: ids[2]!, stream });
    c.send({ t: 'sub', id: ids[3]!, stream });
    const answers = [];
    for (const id of ids) answers.push(await c.next((m) => (m.t === 'res' || m.t === 'err') && m.id === id));
    expect(
      answers.map((a) => (a.t === 'res' ? ((a.result as { status?: string }).status ?? 'ok') : a.t)),
    ).toEqual(['fresh', 'ok', 'fresh', 'renewed']);
    await node.hub.publish(stream, 'once');
    await c.next((m) => m.t === 'ev' && m.stream === stream);
    await sleep(100);
    expect(c.events(stream)).toHaveLength(1);
  });
});
