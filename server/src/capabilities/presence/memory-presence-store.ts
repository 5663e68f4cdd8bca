import {
  type EndedSessions,
  nextVersion,
  type PresenceCounts,
  type PresenceStore,
  type SettledUser,
  type StoredPresence,
} from './presence-store.js';

interface UserRecord {
  /** Session → node. */
  sessions: Map<string, string>;
  state: 'on' | 'leaving';
  /** Leaving since (ms). */
  since: number;
  v: number;
}

/**
 * Presence in this process's memory: the embedded default of one node. The
 * same state machine as the Redis store's scripts (`presenceStoreContract`
 * holds both to it); a user's record is gone once they are offline, so the
 * store holds only online and leaving users, their sessions and the nodes.
 */
export class MemoryPresenceStore implements PresenceStore {
  private readonly users = new Map<string, UserRecord>();
  /** Node → its sessions (`userId`, session). */
  private readonly nodeSessions = new Map<string, Map<string, string>>();
  /** Node → last heartbeat. */
  private readonly nodes = new Map<string, number>();
  /** Leaving user → settle deadline. */
  private readonly leaving = new Map<string, number>();
  private lastV = 0;

  private version(now: number): number {
    this.lastV = nextVersion(this.lastV, now);
    return this.lastV;
  }

  async sessionOpened(
    userId: string,
    session: string,
    node: string,
    now: number,
  ): Promise<number | undefined> {
    let u = this.users.get(userId);
    const fresh = !u;
    u ??= { sessions: new Map(), state: 'on', since: 0, v: 0 };
    if (!u.sessions.has(session)) {
      u.sessions.set(session, node);
      let own = this.nodeSessions.get(node);
      if (!own) this.nodeSessions.set(node, (own = new Map()));
      own.set(session, userId);
    }
    if (!fresh) {
      if (u.state === 'leaving') {
        u.state = 'on';
        this.leaving.delete(userId);
      }
      return undefined;
    }
    u.v = this.version(now);
    this.users.set(userId, u);
    return u.v;
  }

  async sessionClosed(
    userId: string,
    session: string,
    node: string,
    now: number,
    graceMs: number,
  ): Promise<number | undefined> {
    const u = this.users.get(userId);
    if (!u?.sessions.delete(session)) return undefined;
    this.forgetSession(node, session);
    return this.leaveIfLast(userId, u, now, now + graceMs);
  }

  async settle(now: number, limit: number): Promise<SettledUser[]> {
    const out: SettledUser[] = [];
    for (const [userId, deadline] of this.leaving) {
      if (out.length >= limit) break;
      if (deadline > now) continue;
      this.leaving.delete(userId);
      const u = this.users.get(userId);
      if (u?.state !== 'leaving' || u.sessions.size > 0) continue;
      this.users.delete(userId);
      out.push({ userId, v: this.version(now), lastSeen: u.since });
    }
    return out;
  }

  async heartbeat(node: string, now: number): Promise<boolean> {
    const known = this.nodes.has(node);
    this.nodes.set(node, now);
    return known;
  }

  async deadNodes(before: number): Promise<{ node: string; at: number }[]> {
    return [...this.nodes].filter(([, at]) => at < before).map(([node, at]) => ({ node, at }));
  }

  async endNode(node: string, at: number, graceMs: number, limit: number): Promise<EndedSessions> {
    const beat = this.nodes.get(node);
    if (beat !== undefined && beat > at) return { alive: true, ended: 0, left: 0, deadline: undefined };
    this.nodes.delete(node);
    const own = this.nodeSessions.get(node);
    let ended = 0;
    let deadline: number | undefined;
    for (const [session, userId] of own ?? []) {
      if (ended >= limit) break;
      own?.delete(session);
      ended++;
      const u = this.users.get(userId);
      if (!u?.sessions.delete(session)) continue;
      const d = this.leaveIfLast(userId, u, at, at + graceMs);
      if (d !== undefined) deadline = Math.min(deadline ?? d, d);
    }
    const left = own?.size ?? 0;
    if (left === 0) this.nodeSessions.delete(node);
    return { alive: false, ended, left, deadline };
  }

  async states(userIds: readonly string[]): Promise<Map<string, StoredPresence>> {
    const out = new Map<string, StoredPresence>();
    for (const id of userIds) {
      const u = this.users.get(id);
      if (u) out.set(id, { online: true, v: u.v });
    }
    return out;
  }

  async touch(userId: string, now: number): Promise<StoredPresence> {
    const v = this.version(now);
    const u = this.users.get(userId);
    if (u) u.v = v;
    return { online: u !== undefined, v };
  }

  async counts(): Promise<PresenceCounts> {
    let sessions = 0;
    for (const own of this.nodeSessions.values()) sessions += own.size;
    return { sessions, leaving: this.leaving.size, nodes: this.nodes.size };
  }

  async close(): Promise<void> {}

  private forgetSession(node: string, session: string): void {
    const own = this.nodeSessions.get(node);
    own?.delete(session);
    if (own?.size === 0) this.nodeSessions.delete(node);
  }

  private leaveIfLast(userId: string, u: UserRecord, since: number, deadline: number): number | undefined {
    if (u.sessions.size > 0 || u.state !== 'on') return undefined;
    u.state = 'leaving';
    u.since = since;
    this.leaving.set(userId, deadline);
    return deadline;
  }
}
