import { MemoryPresenceStore } from './memory-presence-store.js';
import { presenceStoreContract } from './presence-store-contract.js';

presenceStoreContract('MemoryPresenceStore', async () => new MemoryPresenceStore());
