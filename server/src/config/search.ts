import { int } from './settings.js';

/** Hashtag pages, caption and user search, posts near a place (issue 11 §3–4). */
export const searchSettings = {
  budgetMs: int(
    'SEARCH_BUDGET_MS',
    500,
    10,
    60_000,
    'How long a search, hashtag page or places query waits for every database; a database later than this (or failing) is left out and the answer is marked `partial`, never an error. On PostgreSQL its statement is cancelled soon after.',
  ),
  placesMaxRadiusM: int(
    'PLACES_MAX_RADIUS_M',
    50_000,
    100,
    200_000,
    'The largest radius, in metres, a places query may ask for (more is `bad_request`): the work of one query grows with the area it covers.',
  ),
};
