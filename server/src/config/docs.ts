import { allSettings } from './index.js';
import type { Setting } from './settings.js';

const TITLES: Record<string, string> = {
  gateway: 'Node and WebSocket gateway',
  services: 'Services and deployment',
  auth: 'Authentication and operator access',
  media: 'Media',
  actors: 'Actors and cluster',
  feed: 'Feed',
  limits: 'Rate limits',
  push: 'Push',
  live: 'Live views of posts',
  notifications: 'Notifications',
  search: 'Search and places',
};

function shown(v: unknown): string {
  if (Array.isArray(v)) return v.length ? v.join(',') : '(empty)';
  if (v === '') return '(empty)';
  return String(v);
}

/** docs/configuration.md, generated from the settings so it cannot drift (a unit test compares). */
export function renderConfigDocs(): string {
  const out = [
    '# Configuration',
    '',
    'Every setting is an environment variable, read once at start. An invalid value or a',
    'contradiction stops the process before it does anything, with one sentence per problem',
    'naming the variable and what it allows. With nothing set, `npm start` runs a complete',
    'single node on the embedded defaults.',
    '',
    'Generated from `server/src/config/*.ts` by `npm run docs:config`; do not edit by hand.',
  ];
  for (const [section, shape] of Object.entries(allSettings)) {
    out.push(
      '',
      `## ${TITLES[section] ?? section}`,
      '',
      '| variable | default | allowed | meaning |',
      '| --- | --- | --- | --- |',
    );
    for (const s of Object.values(shape) as Setting<unknown>[]) {
      const cell = (x: string) => x.replaceAll('|', '\\|').replaceAll('\n', ' ');
      out.push(
        `| \`${s.env}\` | \`${cell(s.shownDefault ?? shown(s.default))}\` | ${cell(s.allowed)} | ${cell(s.doc)} |`,
      );
    }
  }
  return `${out.join('\n')}\n`;
}
