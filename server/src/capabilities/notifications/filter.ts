import type { Databases } from '../../storage/databases.js';
import { Users } from '../accounts/users.js';
import { GraphReads, mayView } from '../graph/edges.js';
import type { RecipientWork } from './plan.js';

/**
 * Drops the additions a recipient must not get, for every recipient of a
 * job: never from themselves; nothing from a user they block or who blocks
 * them; nothing about a post they may not see (a mention on a private
 * account's post they do not follow). One graph query per recipient (on
 * their own database, where both sides of their blocks are kept) and one
 * read of the posts' authors for the job (however many events it holds).
 * Withdrawals are never filtered.
 */
export async function filterAdds(db: Databases, work: RecipientWork[]): Promise<void> {
  const authorsToCheck = new Set<string>();
  for (const w of work) {
    w.adds = w.adds.filter((a) => a.actor !== w.recipient);
    for (const a of w.adds)
      if (a.postAuthorId && a.postAuthorId !== w.recipient) authorsToCheck.add(a.postAuthorId);
  }
  const authors = authorsToCheck.size ? await new Users(db).many([...authorsToCheck]) : new Map();
  const graph = new GraphReads(db);
  const byRecipient = new Map<string, RecipientWork[]>();
  for (const w of work)
    if (w.adds.length) byRecipient.set(w.recipient, [...(byRecipient.get(w.recipient) ?? []), w]);
  await Promise.all(
    [...byRecipient].map(async ([recipient, works]) => {
      const others = new Set<string>();
      for (const a of works.flatMap((w) => w.adds)) {
        others.add(a.actor);
        if (a.postAuthorId) others.add(a.postAuthorId);
      }
      const rel = await graph.viewerRelations(recipient, [...others]);
      for (const w of works)
        w.adds = w.adds.filter((a) => {
          if (rel.blocked.has(a.actor)) return false;
          if (!a.postAuthorId || a.postAuthorId === recipient) return true;
          const author = authors.get(a.postAuthorId);
          return author !== undefined && mayView(recipient, author, rel);
        });
    }),
  );
}
