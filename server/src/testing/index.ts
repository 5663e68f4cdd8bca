/** Helpers for tests, fixtures and load-test seeds (`@shutter/server/testing`). */
export { seededRandom } from './seeded-random.js';
