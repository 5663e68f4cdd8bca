import type { Scenario } from '../runner/scenario.js';
import broadcast from './broadcast.js';
import celebrityPost from './celebrity-post.js';
import feedScroll from './feed-scroll.js';
import hold from './hold.js';
import reconnectStorm from './reconnect-storm.js';
import rollingDeploy from './rolling-deploy.js';

/** Every scenario, by name (`npm run load -- <name>`). */
export const scenarios: Record<string, Scenario<never, never, never>> = {
  [broadcast.name]: broadcast as unknown as Scenario<never, never, never>,
  [celebrityPost.name]: celebrityPost as unknown as Scenario<never, never, never>,
  [feedScroll.name]: feedScroll as unknown as Scenario<never, never, never>,
  [hold.name]: hold as unknown as Scenario<never, never, never>,
  [reconnectStorm.name]: reconnectStorm as unknown as Scenario<never, never, never>,
  [rollingDeploy.name]: rollingDeploy as unknown as Scenario<never, never, never>,
};
