import type { HttpRouter } from '../http/router.js';
import type { HttpHandler } from '../http/types.js';

/** One route the composition root mounts on its `HttpRouter`. */
export interface RouteSpec {
  method: 'GET' | 'PUT' | 'POST' | 'DELETE';
  pattern: string;
  handler: HttpHandler;
}

export function mountRoutes(router: HttpRouter, routes: readonly RouteSpec[]): void {
  for (const r of routes) router.on(r.method, r.pattern, r.handler);
}

/** Route patterns matching `<prefix>/<key>` for keys of 1 to `depth` segments (the router has no wildcard). */
export function keyPatterns(
  prefix: string,
  depth: number,
): { pattern: string; key: (p: Record<string, string>) => string }[] {
  const out = [];
  for (let n = 1; n <= depth; n++) {
    const names = Array.from({ length: n }, (_, i) => `k${i}`);
    out.push({
      pattern: `${prefix}/${names.map((x) => `:${x}`).join('/')}`,
      key: (p: Record<string, string>) => names.map((x) => p[x] ?? '').join('/'),
    });
  }
  return out;
}
