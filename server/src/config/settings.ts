/**
 * A tiny declarative settings kit: each setting names its environment
 * variable, documents itself, parses the raw string and has a default.
 * `parseSettings` reads them all at once and reports every bad value, each
 * in one sentence naming the variable and what it allows.
 */
export interface Setting<T> {
  readonly env: string;
  readonly doc: string;
  /** Shown in docs/configuration.md. */
  readonly allowed: string;
  readonly default: T;
  /** How docs/configuration.md shows the default, when `String(default)` would not say it. */
  readonly shownDefault?: string;
  parse(raw: string): T | ParseFailure;
}

/**
 * A value the setting refuses: what it expects (reported as "<ENV> must be
 * <expected>"), or, for a setting with parts, one whole sentence per problem.
 */
export class ParseFailure {
  constructor(
    readonly expected: string,
    readonly sentences: readonly string[] = [],
  ) {}
}

const fail = (expected: string) => new ParseFailure(expected);

export function int(env: string, def: number, min: number, max: number, doc: string): Setting<number> {
  const allowed = `an integer from ${min} to ${max}`;
  return {
    env,
    doc,
    allowed,
    default: def,
    parse(raw) {
      if (!/^-?\d+$/.test(raw.trim())) return fail(allowed);
      const n = Number(raw);
      return Number.isSafeInteger(n) && n >= min && n <= max ? n : fail(allowed);
    },
  };
}

export function str(
  env: string,
  def: string,
  doc: string,
  pattern?: RegExp,
  allowed = 'any text',
): Setting<string> {
  return {
    env,
    doc,
    allowed,
    default: def,
    parse: (raw) => (pattern && !pattern.test(raw) ? fail(allowed) : raw),
  };
}

export function oneOf<const T extends string>(
  env: string,
  def: T,
  values: readonly T[],
  doc: string,
): Setting<T> {
  const allowed = `one of ${values.join(', ')}`;
  return {
    env,
    doc,
    allowed,
    default: def,
    parse: (raw) => ((values as readonly string[]).includes(raw) ? (raw as T) : fail(allowed)),
  };
}

export function bool(env: string, def: boolean, doc: string): Setting<boolean> {
  const allowed = 'true or false';
  return {
    env,
    doc,
    allowed,
    default: def,
    parse(raw) {
      const v = raw.trim().toLowerCase();
      if (['1', 'true', 'yes', 'on'].includes(v)) return true;
      if (['0', 'false', 'no', 'off'].includes(v)) return false;
      return fail(allowed);
    },
  };
}

export function url(env: string, protocols: readonly string[], doc: string): Setting<string> {
  const allowed = `empty, or a URL starting with ${protocols.map((p) => `${p}//`).join(' or ')}`;
  return {
    env,
    doc,
    allowed,
    default: '',
    parse(raw) {
      if (raw === '') return '';
      try {
        return protocols.includes(new URL(raw).protocol) ? raw : fail(allowed);
      } catch {
        return fail(allowed);
      }
    },
  };
}

export function list(env: string, doc: string, allowed = 'a comma-separated list'): Setting<string[]> {
  return {
    env,
    doc,
    allowed,
    default: [],
    parse: (raw) =>
      raw
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
  };
}

export type SettingsShape = Record<string, Setting<unknown>>;
export type ValuesOf<S extends SettingsShape> = { [K in keyof S]: S[K] extends Setting<infer T> ? T : never };

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(readonly problems: string[]) {
    super(problems.join(' '));
  }
}

export function parseSettings<S extends SettingsShape>(
  shape: S,
  env: Readonly<Record<string, string | undefined>>,
): { values: ValuesOf<S>; problems: string[] } {
  const values: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const [key, setting] of Object.entries(shape)) {
    const raw = env[setting.env];
    if (raw === undefined || raw === '') {
      values[key] = setting.default;
      continue;
    }
    const v = setting.parse(raw);
    if (v instanceof ParseFailure && v.sentences.length > 0) problems.push(...v.sentences);
    else if (v instanceof ParseFailure) {
      const shown = raw.length > 40 ? `${raw.slice(0, 40)}…` : raw;
      problems.push(`${setting.env} must be ${v.expected} (got "${shown}").`);
    } else values[key] = v;
  }
  return { values: values as ValuesOf<S>, problems };
}
