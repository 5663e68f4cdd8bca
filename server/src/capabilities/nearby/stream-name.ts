import { isId, NEARBY_MAX_RADIUS_METERS, NEARBY_MIN_RADIUS_METERS } from '@shutter/protocol';

/** The user and radius a `nearby:<id>[:<radius>]` stream names, if it is one (the radius canonical and in bounds). */
export function parseNearbyStream(stream: string): { userId: string; radiusMeters?: number } | undefined {
  const [kind, userId, radius, ...rest] = stream.split(':');
  if (kind !== 'nearby' || rest.length > 0 || userId === undefined || !isId(userId)) return undefined;
  if (radius === undefined) return { userId };
  const r = Number(radius);
  if (!/^[1-9]\d*$/.test(radius) || r < NEARBY_MIN_RADIUS_METERS || r > NEARBY_MAX_RADIUS_METERS)
    return undefined;
  return { userId, radiusMeters: r };
}

/** The radius of a (valid) nearby stream: its own, or the default. */
export function radiusOfStream(stream: string, defaultMeters: number): number {
  return parseNearbyStream(stream)?.radiusMeters ?? defaultMeters;
}
