import { accounts } from './accounts/index.js';
import { comments } from './comments/index.js';
import { devices } from './devices/index.js';
import { explore } from './explore/index.js';
import { feed } from './feed/index.js';
import { graph } from './graph/index.js';
import { likes } from './likes/index.js';
import { nearby } from './nearby/index.js';
import { notifications } from './notifications/index.js';
import type { Capability } from './operation.js';
import { places } from './places/index.js';
import { posts } from './posts/index.js';
import { presence } from './presence/index.js';
import { search } from './search/index.js';
import { system } from './system/index.js';
import { trending } from './trending/index.js';

/** Every capability this node serves. A new one is one folder and one line here. */
export const capabilities: readonly Capability[] = [
  system,
  accounts,
  graph,
  posts,
  feed,
  likes,
  comments,
  notifications,
  devices,
  presence,
  nearby,
  trending,
  explore,
  search,
  places,
];

export { loadConfig } from '../config/index.js';
// For benchmarks that drive the post actor without a node (load-tests/src/likes-bench.ts).
export { DomainEvents } from './events.js';
export { type Caller, type CapabilityPorts, defineCapability, defineOperation } from './operation.js';
// For the search benchmark's EXPLAIN of each database's part of every list (load-tests/src/scenarios/search-places.ts).
export { coveringCells } from './places/cells.js';
export { nearRows } from './places/near-posts.js';
export { makePostActor } from './posts/post-actor.js';
export { OperationRegistry } from './registry.js';
export { captionRows } from './search/caption-posts.js';
export { MOST_LIKED, NEWEST } from './search/cursor.js';
export { tagRecentRows, tagTopRows } from './search/tag-posts.js';
export { nameRows } from './search/users.js';
