import type { Api } from './api.js';

/** What a post shows of its likes. */
export interface LikeState {
  liked: boolean;
  likeCount: number;
}

/**
 * Optimistic likes of one post: returns `set(liked)`, which shows the
 * expected state at once (`show(state)`), sends `likes.like` or
 * `likes.unlike`, then shows the server's answer; on an error it shows the
 * last state the server confirmed (or `initial`) with the error, and
 * rejects. When taps overlap, only the newest one's outcome is shown (an
 * older answer only updates what was confirmed), so the screen never jumps
 * back to a state the user has tapped away from.
 *
 *   const setLiked = likeToggle(client.api, post.id, post, (s, err) => render(s, err));
 *   button.onclick = () => setLiked(!shown.liked).catch(() => {});
 */
export function likeToggle(
  api: Api,
  postId: string,
  initial: LikeState,
  show: (state: LikeState, error?: unknown) => void,
): (liked: boolean) => Promise<LikeState> {
  let confirmed: LikeState = { liked: initial.liked, likeCount: initial.likeCount };
  let shown = confirmed;
  let newest = 0;
  return async (liked) => {
    const mine = ++newest;
    shown = { liked, likeCount: shown.likeCount + (liked === shown.liked ? 0 : liked ? 1 : -1) };
    show(shown);
    try {
      const r = await api.likes[liked ? 'like' : 'unlike']({ id: postId });
      confirmed = { liked: r.liked, likeCount: r.likeCount };
    } catch (e) {
      if (mine === newest) show((shown = confirmed), e);
      throw e;
    }
    if (mine === newest) show((shown = confirmed));
    return confirmed;
  };
}
