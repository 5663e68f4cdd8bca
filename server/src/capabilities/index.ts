import { accounts } from './accounts/index.js';
import { feed } from './feed/index.js';
import { graph } from './graph/index.js';
import type { Capability } from './operation.js';
import { posts } from './posts/index.js';
import { system } from './system/index.js';

/** Every capability this node serves. A new one is one folder and one line here. */
export const capabilities: readonly Capability[] = [system, accounts, graph, posts, feed];

export { type Caller, type CapabilityPorts, defineCapability, defineOperation } from './operation.js';
export { OperationRegistry } from './registry.js';
