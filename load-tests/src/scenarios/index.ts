import type { Scenario } from '../runner/scenario.js';
import broadcast from './broadcast.js';
import celebrityPost from './celebrity-post.js';
import dayInTheLife from './day-in-the-life.js';
import exploreScroll from './explore-scroll.js';
import feedScroll from './feed-scroll.js';
import hold from './hold.js';
import hotPhoto from './hot-photo.js';
import nearbyFriends from './nearby-friends.js';
import presenceChurn from './presence-churn.js';
import reconnectStorm from './reconnect-storm.js';
import rollingDeploy from './rolling-deploy.js';
import searchPlaces from './search-places.js';
import soak from './soak.js';

/** Every scenario, by name (`npm run load -- <name>`). */
export const scenarios: Record<string, Scenario<never, never, never>> = {
  [broadcast.name]: broadcast as unknown as Scenario<never, never, never>,
  [celebrityPost.name]: celebrityPost as unknown as Scenario<never, never, never>,
  [dayInTheLife.name]: dayInTheLife as unknown as Scenario<never, never, never>,
  [feedScroll.name]: feedScroll as unknown as Scenario<never, never, never>,
  [exploreScroll.name]: exploreScroll as unknown as Scenario<never, never, never>,
  [hold.name]: hold as unknown as Scenario<never, never, never>,
  [hotPhoto.name]: hotPhoto as unknown as Scenario<never, never, never>,
  [presenceChurn.name]: presenceChurn as unknown as Scenario<never, never, never>,
  [nearbyFriends.name]: nearbyFriends as unknown as Scenario<never, never, never>,
  [reconnectStorm.name]: reconnectStorm as unknown as Scenario<never, never, never>,
  [rollingDeploy.name]: rollingDeploy as unknown as Scenario<never, never, never>,
  [soak.name]: soak as unknown as Scenario<never, never, never>,
  [searchPlaces.name]: searchPlaces as unknown as Scenario<never, never, never>,
};
