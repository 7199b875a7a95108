// One source of truth per config: a zod object schema gives the TypeScript type, the defaults, the
// command-line flags, the `--help` text and the validation of YAML files.
//
//   const sftConfig = z.object({
//     lr: z.number().positive().default(5e-5).describe('peak learning rate (AdamW)'),
//     …
//   });
//   const cfg = resolveConfig(sftConfig, { argv, command: 'rlhf sft' });   // --config FILE.yaml, then flags
//   helpText(sftConfig)                                                     // the Options section of --help
//
// Field names are camelCase in TypeScript; on the command line they are kebab-case (`gradAccum` is
// `--grad-accum`); in a YAML file any of camelCase, snake_case or kebab-case is accepted. Flags
// override the file, which overrides the schema's defaults.
//
// A list field takes `--targets a,b` or `--targets a --targets b` (each use adds to the list). A
// list of free text whose items may hold commas or spaces (stop strings) is marked
// `.meta({ split: false })`: each use of its flag is one item, taken as written. `.meta({ metavar:
// 'DIR' })` names a field's value in --help (default: by its type, N, X, VALUE…).
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { LineCounter, parseDocument } from 'yaml';
import { readFailure } from '../util/fs-errors.js';

/** A bad flag, YAML key or value; the message names it and says what is accepted. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

type Kind = 'string' | 'number' | 'int' | 'boolean' | 'enum' | 'string[]' | 'number[]' | 'record' | 'json';

/** What the CLI needs to know about one field of a schema. */
export interface FieldInfo {
  key: string;
  flag: string;
  kind: Kind;
  description: string;
  defaultValue: unknown;
  hasDefault: boolean;
  optional: boolean;
  choices: readonly string[] | null;
  /** List fields: whether one value is split at commas (false: `.meta({ split: false })`). */
  split: boolean;
  /** The value's name in --help, from `.meta({ metavar })`; null: by kind. */
  metavar: string | null;
}

interface Def {
  type: string;
  innerType?: z.ZodType;
  defaultValue?: unknown;
  element?: z.ZodType;
  entries?: Record<string, string>;
  checks?: { _zod?: { def?: { check?: string; format?: string } } }[];
  in?: z.ZodType;
  valueType?: z.ZodType;
}

const defOf = (s: z.ZodType): Def => (s as unknown as { _zod: { def: Def } })._zod.def;

export const toKebab = (key: string): string => key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
const toCamel = (key: string): string => key.replace(/[-_]([a-z0-9])/g, (_, c: string) => c.toUpperCase());

/** Reads a field's kind, default and description through default/optional/nullable wrappers. */
export function fieldInfo(key: string, schema: z.ZodType): FieldInfo {
  let s = schema;
  let hasDefault = false;
  let defaultValue: unknown;
  let optional = false;
  let split: boolean | undefined;
  let metavar: string | undefined;
  const description = schema.description ?? '';
  for (;;) {
    const meta = z.globalRegistry.get(s);
    if (split === undefined && typeof meta?.split === 'boolean') split = meta.split;
    if (metavar === undefined && typeof meta?.metavar === 'string') metavar = meta.metavar;
    const d = defOf(s);
    if (d.type === 'default' || d.type === 'prefault') {
      hasDefault = true;
      defaultValue = typeof d.defaultValue === 'function' ? (d.defaultValue as () => unknown)() : d.defaultValue;
      s = d.innerType as z.ZodType;
    } else if (d.type === 'optional' || d.type === 'nullable') {
      optional = true;
      s = d.innerType as z.ZodType;
    } else if (d.type === 'pipe') {
      s = d.in as z.ZodType;
    } else break;
  }
  const d = defOf(s);
  let kind: Kind = 'json';
  let choices: readonly string[] | null = null;
  if (d.type === 'string') kind = 'string';
  else if (d.type === 'boolean') kind = 'boolean';
  else if (d.type === 'number') {
    const isInt = (d.checks ?? []).some((c) => /int/.test(c._zod?.def?.format ?? '')) || /int/.test((d as { format?: string }).format ?? '');
    kind = isInt ? 'int' : 'number';
  } else if (d.type === 'enum') {
    kind = 'enum';
    choices = Object.values(d.entries ?? {});
  } else if (d.type === 'array') {
    kind = defOf(d.element as z.ZodType).type === 'number' ? 'number[]' : 'string[]';
  } else if (d.type === 'record') kind = 'record';
  return { key, flag: `--${toKebab(key)}`, kind, description, defaultValue, hasDefault, optional, choices, split: split ?? true, metavar: metavar ?? null };
}

export function fieldsOf(schema: z.ZodObject): FieldInfo[] {
  return Object.entries(schema.shape).map(([k, v]) => fieldInfo(k, v as z.ZodType));
}

function formatDefault(f: FieldInfo): string {
  if (!f.hasDefault) return f.optional ? '' : ' (required)';
  const v = f.defaultValue;
  if (v === null || v === undefined) return '';
  if (Array.isArray(v)) return v.length ? ` (default ${v.join(',')})` : '';
  if (typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>);
    return entries.length ? ` (default ${entries.map(([k, x]) => `${k}=${String(x)}`).join(',')})` : '';
  }
  return ` (default ${String(v)})`;
}

function metavar(f: FieldInfo): string {
  if (f.metavar !== null) return ` ${f.metavar}`;
  switch (f.kind) {
    case 'boolean': return '';
    case 'int': return ' N';
    case 'number': return ' X';
    case 'enum': return ` ${(f.choices ?? []).join('|')}`;
    case 'string[]': return f.split ? ' A,B,…' : ' TEXT';
    case 'number[]': return ' X,Y,…';
    case 'record': return ' K=V,…';
    default: return ' VALUE';
  }
}

/**
 * The options of a schema as `--help` lines, grouped by `groups` (title → keys; keys not named
 * go under "Options"). Each line: the flag, its values, the description and the default.
 */
export function helpText(schema: z.ZodObject, groups: Record<string, readonly string[]> = {}): string {
  const fields = fieldsOf(schema);
  const named = new Set(Object.values(groups).flat());
  const sections: [string, FieldInfo[]][] = Object.entries(groups).map(([title, keys]) => [title, keys.map((k) => fields.find((f) => f.key === k)).filter((f): f is FieldInfo => f !== undefined)]);
  const rest = fields.filter((f) => !named.has(f.key));
  if (rest.length) sections.push([sections.length ? 'Other options' : 'Options', rest]);
  const heads = fields.map((f) => `  ${f.flag}${metavar(f)}`);
  const width = Math.min(36, Math.max(...heads.map((h) => h.length)) + 2);
  const lines: string[] = [];
  for (const [title, fs] of sections) {
    if (!fs.length) continue;
    lines.push(title);
    for (const f of fs) {
      const head = `  ${f.flag}${metavar(f)}`;
      const text = `${f.description}${formatDefault(f)}`;
      lines.push(head.length + 1 > width ? `${head}\n${' '.repeat(width)}${text}` : `${head.padEnd(width)}${text}`);
    }
    lines.push('');
  }
  return lines.join('\n');
}

/** A whole number JavaScript would round (above 2^53 − 1): refused rather than silently changed. */
function unsafeInteger(where: string, value: string): string {
  return `${where} ${value} is larger than 9007199254740991 (2^53 − 1), the largest whole number rlhf reads exactly — it would be rounded to ${Number(value)}; give a smaller value.`;
}

/** Converts one flag's text to the field's type (zod validates ranges afterwards). */
function parseValue(f: FieldInfo, raw: string, where: string): unknown {
  const bad = (what: string): never => {
    throw new ConfigError(`${where} must be ${what} (got '${raw}').`);
  };
  switch (f.kind) {
    case 'string': case 'enum': return raw;
    case 'int': case 'number': {
      const n = Number(raw);
      if (raw.trim() === '' || !Number.isFinite(n)) bad(f.kind === 'int' ? 'a whole number' : 'a number');
      if (f.kind === 'int' && Number.isInteger(n) && !Number.isSafeInteger(n)) throw new ConfigError(unsafeInteger(where, raw.trim()));
      return n;
    }
    case 'boolean':
      if (/^(true|1|yes|on)$/i.test(raw)) return true;
      if (/^(false|0|no|off)$/i.test(raw)) return false;
      return bad('true or false');
    case 'string[]':
      if (!f.split) return [raw];
      return raw === '' ? [] : raw.split(',').map((s) => s.trim());
    case 'number[]': return raw === '' ? [] : raw.split(',').map((s) => {
      const n = Number(s);
      if (!Number.isFinite(n)) bad('a comma-separated list of numbers');
      return n;
    });
    case 'record': {
      const out: Record<string, unknown> = {};
      for (const part of raw.split(',').filter((p) => p.trim())) {
        const eq = part.indexOf('=');
        if (eq <= 0) bad('KEY=VALUE pairs separated by commas');
        const v = part.slice(eq + 1).trim();
        out[part.slice(0, eq).trim()] = v !== '' && Number.isFinite(Number(v)) ? Number(v) : v;
      }
      return out;
    }
    default:
      try {
        return JSON.parse(raw);
      } catch {
        return bad('JSON');
      }
  }
}

export interface ParsedArgs {
  /** Values given as flags, by field key. */
  values: Record<string, unknown>;
  /** Words that are not flags. */
  positionals: string[];
  /** --config FILE, when given. */
  configFile: string | null;
}

/**
 * Parses argv against the schema's fields: `--flag VALUE`, `--flag=VALUE`, `--bool`, `--no-bool`.
 * A list flag given several times accumulates; any other flag given twice keeps the last value.
 */
export function parseFlags(schema: z.ZodObject, argv: readonly string[], command = 'rlhf'): ParsedArgs {
  const fields = new Map(fieldsOf(schema).map((f) => [f.flag, f]));
  const values: Record<string, unknown> = {};
  const positionals: string[] = [];
  let configFile: string | null = null;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (!arg.startsWith('--') || arg === '--') {
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    let name = eq > 0 ? arg.slice(0, eq) : arg;
    let inline: string | undefined = eq > 0 ? arg.slice(eq + 1) : undefined;
    const takeValue = (): string => {
      if (inline !== undefined) return inline;
      const next = argv[i + 1];
      if (next === undefined || (next.startsWith('--') && next.length > 2)) throw new ConfigError(`${name} needs a value. Run '${command} --help'.`);
      i++;
      return next;
    };
    if (name === '--config') {
      configFile = takeValue();
      continue;
    }
    let f = fields.get(name);
    if (!f && name.startsWith('--no-')) {
      const pos = fields.get(`--${name.slice(5)}`);
      if (pos?.kind === 'boolean') {
        if (inline !== undefined) throw new ConfigError(`${name} takes no value.`);
        values[pos.key] = false;
        continue;
      }
    }
    if (!f) {
      const close = closest([...fields.keys()], name);
      throw new ConfigError(`unknown option ${name}${close.length ? ` (did you mean ${close.join(' or ')}?)` : ''}. Run '${command} --help' for the list.`);
    }
    if (f.kind === 'boolean' && inline === undefined) {
      values[f.key] = true;
      continue;
    }
    const value = parseValue(f, takeValue(), name);
    const prev = values[f.key];
    values[f.key] = Array.isArray(prev) && Array.isArray(value) ? [...prev, ...value] : value;
    name = f.flag;
    inline = undefined;
  }
  return { values, positionals, configFile };
}

/** The candidates nearest to `word` (edit distance ≤ 2), for "did you mean". */
function closest(candidates: string[], word: string, norm: (s: string) => string = (s) => s): string[] {
  const scored = candidates.map((c) => [c, editDistance(norm(c), norm(word))] as const).filter(([, d]) => d <= 2);
  const best = Math.min(...scored.map(([, d]) => d));
  return scored.filter(([, d]) => d === best).map(([c]) => c);
}

function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) (d[0] as number[])[j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const row = d[i] as number[];
      const prev = d[i - 1] as number[];
      row[j] = Math.min((prev[j] as number) + 1, (row[j - 1] as number) + 1, (prev[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
  }
  return (d[a.length] as number[])[b.length] as number;
}

/** Where each YAML key sits, for error messages. */
export interface YamlSource {
  file: string;
  values: Record<string, unknown>;
  lineOf: (key: string) => number | null;
}

/**
 * Reads a YAML (or JSON) config file into field keys: keys may be camelCase, snake_case or
 * kebab-case; unknown keys are an error naming the line. `section` reads a nested mapping instead
 * of the top level (a pipeline's stage).
 */
export function readYamlConfig(schema: z.ZodObject, file: string, opts: { section?: Record<string, unknown>; lineOf?: (k: string) => number | null } = {}): YamlSource {
  let raw: Record<string, unknown>;
  let lineOf: (key: string) => number | null;
  let rawNumber: (key: string) => string | null = () => null; // a value's text as written (a number YAML rounded)
  if (opts.section) {
    raw = opts.section;
    lineOf = opts.lineOf ?? (() => null);
  } else {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new ConfigError(code === 'ENOENT' ? `config file ${file} does not exist.` : `cannot read config file ${file}: ${readFailure(err, file)}.`);
    }
    const counter = new LineCounter();
    const doc = parseDocument(text, { lineCounter: counter, prettyErrors: true });
    if (doc.errors.length) {
      const e = doc.errors[0] as { linePos?: [{ line: number }]; message: string };
      throw new ConfigError(`${file}:${e.linePos?.[0]?.line ?? '?'}: not valid YAML: ${e.message.split('\n')[0]}`);
    }
    const js = doc.toJS() as unknown;
    if (js === null || js === undefined) raw = {};
    else if (typeof js !== 'object' || Array.isArray(js)) throw new ConfigError(`${file}: a config file must be a mapping of option names to values (got ${Array.isArray(js) ? 'a list' : typeof js}).`);
    else raw = js as Record<string, unknown>;
    lineOf = (key: string) => {
      const node = doc.contents as { items?: { key: { value: unknown; range?: [number] } }[] } | null;
      const item = node?.items?.find((it) => it.key?.value === key);
      const off = item?.key?.range?.[0];
      return off === undefined ? null : counter.linePos(off).line;
    };
    rawNumber = (key: string) => {
      const node = doc.contents as { items?: { key: { value: unknown }; value?: { source?: unknown } }[] } | null;
      const src = node?.items?.find((it) => it.key?.value === key)?.value?.source;
      return typeof src === 'string' ? src : null;
    };
  }
  const fields = new Map(fieldsOf(schema).map((f) => [f.key, f]));
  const values: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(raw)) {
    const key = toCamel(k);
    const f = fields.get(key);
    const line = lineOf(k);
    const at = line ? `${file}:${line}` : file;
    if (!f) {
      const close = closest([...fields.keys()], key, (x) => x.toLowerCase());
      throw new ConfigError(`${at}: unknown key '${k}'${close.length ? ` (did you mean '${close.join("' or '")}'?)` : ''}. The keys are the long option names of --help.`);
    }
    if (f.kind === 'int' && typeof v === 'number' && Number.isInteger(v) && !Number.isSafeInteger(v)) throw new ConfigError(unsafeInteger(`${at}: ${k}`, String(rawNumber(k) ?? v)));
    values[key] = (f.kind === 'string[]' || f.kind === 'record') && typeof v === 'string' ? parseValue(f, v, k) : v;
  }
  return { file, values, lineOf: (key) => lineOf(key) ?? lineOf(toKebab(key)) ?? lineOf(key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)) };
}

/**
 * Validates merged values against the schema. An issue names the flag, or the YAML file and
 * line, the value and what zod expected.
 */
export function validateConfig<S extends z.ZodObject>(schema: S, values: Record<string, unknown>, sources: { flags?: ReadonlySet<string>; yaml?: YamlSource | null; command?: string } = {}): z.infer<S> {
  const r = schema.safeParse(values);
  if (r.success) return r.data;
  const lines = r.error.issues.map((issue) => {
    const key = String(issue.path[0] ?? '');
    const sub = issue.path.length > 1 ? `.${issue.path.slice(1).join('.')}` : '';
    let where: string;
    if (key === '') where = 'config';
    else if (sources.flags?.has(key)) where = `--${toKebab(key)}${sub}`;
    else if (sources.yaml && key in sources.yaml.values) {
      const line = sources.yaml.lineOf(key);
      where = `${sources.yaml.file}${line ? `:${line}` : ''}: ${key}${sub}`;
    } else where = `--${toKebab(key)}${sub}`;
    const missing = issue.code === 'invalid_type' && values[key] === undefined;
    return missing ? `${where} is required` : `${where}: ${issue.message}${key && values[key] !== undefined && typeof values[key] !== 'object' ? ` (got ${JSON.stringify(values[key])})` : ''}`;
  });
  throw new ConfigError(`${lines.join('; ')}. Run '${sources.command ?? 'rlhf'} --help'.`);
}

/**
 * The config of a command: schema defaults, then `--config FILE.yaml`, then flags. `positional`
 * names fields that bare words fill, in order (e.g. a pipeline's FILE).
 */
export function resolveConfig<S extends z.ZodObject>(schema: S, argv: readonly string[], opts: { command?: string; base?: Record<string, unknown> } = {}): { config: z.infer<S>; positionals: string[]; configFile: string | null } {
  const { values, positionals, configFile } = parseFlags(schema, argv, opts.command);
  const yaml = configFile ? readYamlConfig(schema, configFile) : null;
  const merged = { ...(opts.base ?? {}), ...(yaml?.values ?? {}), ...values };
  const config = validateConfig(schema, merged, { flags: new Set(Object.keys(values)), yaml, command: opts.command });
  return { config, positionals, configFile };
}

/** Parses `--columns new=old,…` (also used by the data readers). */
export function parseKeyValueList(text: string, flag = '--columns'): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of text.split(',').filter((p) => p.trim())) {
    const eq = part.indexOf('=');
    if (eq <= 0) throw new ConfigError(`${flag} takes NEW=OLD pairs separated by commas (got '${part}').`);
    out[part.slice(0, eq).trim()] = part.slice(eq + 1).trim();
  }
  return out;
}
