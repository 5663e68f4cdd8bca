import { newId } from '@shutter/protocol';
import { describe, expect, it } from 'vitest';
import { FriendChecks, type NearbyListResult } from './list.js';
import { parseNearbyStream, radiusOfStream } from './stream-name.js';
import { NearbyWatch, signature } from './watch.js';

const list = (items: [string, number, number][], asOf = 0): NearbyListResult => ({
  sharing: true,
  located: true,
  radiusMeters: 8047,
  asOf,
  items: items.map(([id, d, at]) => ({
    user: { id, username: id, displayName: id, avatarMediaId: null, private: false },
    distanceMeters: d,
    fixAt: at,
    ageMs: asOf - at,
    accuracyMeters: null,
  })),
});

describe('NearbyWatch', () => {
  it('sends a list when it changed, and once to each new viewer; renewals are not new', () => {
    const w = new NearbyWatch();
    expect(w.view('nearby:a', 'n/1', 1000, 0)).toBe(true);
    const one = signature(list([['b', 10, 5]], 10));
    expect(w.due('nearby:a', one)).toBe(true);
    w.sentOut('nearby:a', one);
    // Ages move on, nothing else: not due.
    expect(w.due('nearby:a', signature(list([['b', 10, 5]], 900)))).toBe(false);
    expect(w.view('nearby:a', 'n/1', 1000, 500)).toBe(false);
    expect(w.due('nearby:a', one)).toBe(false);
    // A second viewer is owed the list as it is.
    expect(w.view('nearby:a', 'n/2', 1000, 500)).toBe(true);
    expect(w.due('nearby:a', one)).toBe(true);
    w.sentOut('nearby:a', one);
    // A friend's new fix, a move, a friend gone: each is a change.
    expect(w.due('nearby:a', signature(list([['b', 10, 6]])))).toBe(true);
    expect(w.due('nearby:a', signature(list([['b', 11, 5]])))).toBe(true);
    expect(w.due('nearby:a', signature(list([])))).toBe(true);
  });

  it('lapses views whose lease ran out and forgets what was sent on unviewed streams', () => {
    const w = new NearbyWatch();
    w.view('nearby:a', 'n/1', 1000, 0);
    w.view('nearby:a:500', 'n/2', 1000, 0);
    w.sentOut('nearby:a', 'x');
    expect(w.streams(999).sort()).toEqual(['nearby:a', 'nearby:a:500']);
    w.view('nearby:a', 'n/1', 1000, 999);
    expect(w.streams(1000)).toEqual(['nearby:a']);
    w.leave('nearby:a', 'n/1');
    expect(w.streams(1000)).toEqual([]);
    expect(w.viewCount).toBe(0);
    // Viewed again later: a new viewer, owed a list whatever was sent before.
    w.view('nearby:a', 'n/1', 1000, 2000);
    expect(w.due('nearby:a', 'x')).toBe(true);
  });
});

describe('nearby stream names', () => {
  it('names a user and an optional radius in bounds, written canonically', () => {
    const id = newId(3);
    expect(parseNearbyStream(`nearby:${id}`)).toEqual({ userId: id });
    expect(parseNearbyStream(`nearby:${id}:2000`)).toEqual({ userId: id, radiusMeters: 2000 });
    for (const bad of [
      `nearby:${id}:02000`,
      `nearby:${id}:99`,
      `nearby:${id}:50001`,
      `nearby:${id}:1e3`,
      `nearby:${id}:1:2`,
      'nearby:nope',
      `post:${id}`,
    ])
      expect(parseNearbyStream(bad), bad).toBeUndefined();
    expect(radiusOfStream(`nearby:${id}`, 8047)).toBe(8047);
    expect(radiusOfStream(`nearby:${id}:100`, 8047)).toBe(100);
  });
});

describe('FriendChecks', () => {
  it('spares checking a friend again within its TTL, remembering who must not be shown too', () => {
    const c = new FriendChecks(1000);
    const ann = { id: 'ann', username: 'ann', displayName: 'Ann', avatarMediaId: null, private: false };
    expect(c.due(['ann', 'ben'], 0)).toEqual(['ann', 'ben']);
    c.remember(['ann', 'ben'], new Map([['ann', ann]]), 0);
    expect(c.due(['ann', 'ben', 'cy'], 999)).toEqual(['cy']);
    expect([c.shown('ann'), c.shown('ben'), c.shown('cy')]).toEqual([ann, undefined, undefined]);
    expect(c.due(['ann', 'ben'], 1000)).toEqual(['ann', 'ben']);
  });
});
