// `rlhf studio`: the human-feedback studio — serve the web app, and the admin's jobs from the terminal.
import { basename, resolve } from 'node:path';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { ParseArgsConfig } from 'node:util';
import type { Command } from './command.js';
import { UsageError } from './command.js';
import { signInLink } from '../feedback/api-admin.js';
import { agreementWord } from '../feedback/agreement.js';
import { databasePath } from '../feedback/db.js';
import { EXPORT_FORMATS, exportRows, writeJsonl } from '../feedback/export.js';
import type { ExportFormat, ExportOptions } from '../feedback/export.js';
import { GenerationService } from '../feedback/generation-runner.js';
import { parsePrompts, readItemsFile } from '../feedback/import-jsonl.js';
import { GENERATION_DEFAULTS, parseTaskSpec } from '../feedback/schemas.js';
import { startStudio } from '../feedback/server.js';
import { taskStats } from '../feedback/stats.js';
import { Store } from '../feedback/store.js';
import { TASK_KINDS } from '../feedback/types.js';
import { resolveModel } from '../hub/resolve.js';
import type { TaskKind } from '../feedback/types.js';

const HELP = `rlhf studio — collect human feedback in the browser; export datasets for SFT and reward models

Usage:
  rlhf studio [serve] [--dir DIR] [--port 7860] [--host 127.0.0.1]
  rlhf studio import   --task NAME [--kind pairwise|rating|ranking|edit] FILE.jsonl
  rlhf studio generate --task NAME --kind KIND --prompts FILE --model DIR [--model DIR]
  rlhf studio export   --task NAME --format trl|pairs|ratings|sft|raw --out FILE.jsonl
  rlhf studio tasks | stats --task NAME | remove-task --task NAME --yes
  rlhf studio annotator add NAME | list | link NAME | disable NAME | enable NAME   (add-annotator NAME = annotator add NAME)

Serving
  Starts the web app and prints its URL and the admin's sign-in link. Annotators sign in with
  their own links (rlhf studio annotator add NAME, or the People page). Everything is stored in
  DIR/studio.db (SQLite, WAL); stop with Ctrl+C.
    --dir DIR            studio folder (default ./rlhf-studio); every subcommand takes it
    --port N             port (default 7860; 0 picks a free one)
    --host ADDR          address to listen on (default 127.0.0.1; 0.0.0.0 to serve your network)

People
  annotator add NAME [--admin] [--url URL]   add a person; prints their personal sign-in link (once)
  annotator link NAME                        a new link (the old one stops working)
  annotator list | disable NAME | enable NAME
  (links point at the URL the server last printed, or --url http://HOST:PORT)

Tasks (import creates the task when it does not exist, else adds items to it)
    --kind KIND          pairwise  A better / B better / tie / both bad, optional reason
                         rating    1–5 on named dimensions, optional comment
                         ranking   order k responses best to worst
                         edit      write or edit a response (SFT demonstrations)
    --per-item K         distinct annotators per item (default 2)
    --dimensions a,b,c   rating dimensions (default coherence,creativity,relevance,fluency)
    --title TEXT         title shown to annotators (default: the task name)
    --instructions TEXT  guidelines shown above every item (@FILE reads them from a file)
  JSONL lines: {"prompt": "...", "responses": ["...", "..."]} (pairwise, ranking),
  {"prompt": "...", "response": "...", "model": "m"} (rating; edit: the draft), {"prompt": "..."} (edit);
  "response_a"/"response_b"/"model_a"/"model_b" and {"text", "model"} entries also work; "id" is kept.

Live generation (needs the model layer; runs here, the server can stay up)
    --prompts FILE       one prompt per line, or JSONL with "prompt"
    --model DIR          a model directory; twice for model A vs model B
    --name NAME          display name per --model (default: the folder name)
    --samples K          samples per prompt and model (pairwise with one model: 2)
    --max-new-tokens N   (default ${GENERATION_DEFAULTS.maxNewTokens})   --temperature T (${GENERATION_DEFAULTS.temperature})   --top-p P (off)   --seed S (${GENERATION_DEFAULTS.seed})   --batch-size B (${GENERATION_DEFAULTS.batchSize})

Export (docs/studio.md has the exact shapes)
    --format trl         {"prompt","chosen","rejected"}                  (pairwise, ranking)
             pairs       {"input_text","candidate_0","candidate_1","choice"}  (pairwise, ranking)
             ratings     {"prompt","response","model",<dimension>...,"n_ratings"}  (rating)
             sft         {"prompt","completion"}                          (edit)
             raw         every label with annotator, time and what was shown
    --aggregate majority one row per item where more than half the labels agree (default)
                none     one row per label
    --ties drop|include  pairs: keep ties as choice 0.5 (default drop). Ties and "both bad"
                         never become trl rows; the summary counts what was left out.

Examples
  rlhf studio import --task helpful-v1 --kind pairwise --per-item 3 pairs.jsonl
  rlhf studio annotator add ada
  rlhf studio
  rlhf studio export --task helpful-v1 --format trl --out helpful.trl.jsonl
`;

const COMMON = { dir: { type: 'string' }, help: { type: 'boolean', short: 'h' } } as const;

function parse<T extends NonNullable<ParseArgsConfig['options']>>(argv: string[], options: T, positionals = 0) {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: { ...COMMON, ...options }, allowPositionals: positionals > 0, strict: true });
  } catch (err) {
    throw new UsageError(`${(err as Error).message}. Run 'rlhf studio --help'.`);
  }
  if (parsed.positionals.length > positionals) throw new UsageError(`unexpected argument '${parsed.positionals[positionals]}'. Run 'rlhf studio --help'.`);
  return parsed;
}

function dirOf(values: { dir?: string | boolean | (string | boolean)[] | undefined }): string {
  return resolve(typeof values.dir === 'string' ? values.dir : 'rlhf-studio');
}

function int(v: string | undefined, flag: string, min: number): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new UsageError(`${flag} must be a whole number ≥ ${min} (got '${v}').`);
  return n;
}

function num(v: string | undefined, flag: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new UsageError(`${flag} must be a number (got '${v}').`);
  return n;
}

function kindOf(v: string | undefined): TaskKind | undefined {
  if (v === undefined) return undefined;
  if (!(TASK_KINDS as readonly string[]).includes(v)) throw new UsageError(`--kind must be one of ${TASK_KINDS.join(', ')} (got '${v}').`);
  return v as TaskKind;
}

function instructionsOf(v: string | undefined): string | undefined {
  if (v === undefined || !v.startsWith('@')) return v;
  try {
    return readFileSync(v.slice(1), 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read the instructions file ${v.slice(1)}: ${(err as Error).message}`);
  }
}

const TASK_FLAGS = {
  task: { type: 'string' },
  kind: { type: 'string' },
  'per-item': { type: 'string' },
  dimensions: { type: 'string' },
  title: { type: 'string' },
  instructions: { type: 'string' },
} as const;

function taskSpecInput(v: { task?: string; kind?: string; 'per-item'?: string; dimensions?: string; title?: string; instructions?: string }, kind: TaskKind): Record<string, unknown> {
  const spec: Record<string, unknown> = { name: v.task, kind };
  const perItem = int(v['per-item'], '--per-item', 1);
  if (perItem !== undefined) spec.perItem = perItem;
  if (v.dimensions !== undefined) spec.dimensions = v.dimensions.split(',').map((d) => d.trim()).filter(Boolean);
  if (v.title !== undefined) spec.title = v.title;
  const instructions = instructionsOf(v.instructions);
  if (instructions !== undefined) spec.instructions = instructions;
  return spec;
}

function out(line = ''): void {
  process.stdout.write(`${line}\n`);
}

function withStore<T>(dir: string, fn: (store: Store) => T): T {
  const store = Store.open(dir);
  try {
    return fn(store);
  } finally {
    store.close();
  }
}

function baseUrl(store: Store): string {
  return store.getMeta('public_url') ?? 'http://127.0.0.1:7860';
}

async function serveCmd(argv: string[]): Promise<number> {
  const { values } = parse(argv, { port: { type: 'string' }, host: { type: 'string' } });
  const dir = dirOf(values);
  const port = int(values.port, '--port', 0) ?? 7860;
  const studio = await startStudio({
    dir,
    port,
    host: values.host ?? '127.0.0.1',
    ...(process.env.RLHF_GENERATOR_MODULE ? { generatorModule: process.env.RLHF_GENERATOR_MODULE } : {}),
    log: (line) => process.stderr.write(`rlhf studio: ${line}\n`),
  });
  out('rlhf studio — human feedback for RLHF');
  out(`  store   ${databasePath(dir)}`);
  out(`  open    ${studio.url}`);
  out(`  admin   ${studio.adminLink}`);
  out('  (the admin link signs you in; keep it private. Add annotators on the People page or with `rlhf studio annotator add NAME`.)');
  out('Press Ctrl+C to stop.');
  await new Promise<void>((done) => {
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      void studio.close().then(done);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  return 0;
}

function importCmd(argv: string[]): number {
  const { values, positionals } = parse(argv, TASK_FLAGS, 1);
  const file = positionals[0];
  if (!values.task) throw new UsageError('missing --task NAME (the task to create or add to).');
  if (!file) throw new UsageError('missing FILE.jsonl: rlhf studio import --task NAME [--kind KIND] FILE.jsonl');
  const kind = kindOf(values.kind);
  return withStore(dirOf(values), (store) => {
    const existing = store.findTask(values.task!);
    if (existing) {
      if (kind && kind !== existing.kind) throw new UsageError(`task "${existing.name}" is a ${existing.kind} task; drop --kind or give --kind ${existing.kind} to add items to it.`);
      const items = readItemsFile(file, existing.kind);
      store.addItems(existing.id, items);
      out(`added ${items.length} items to ${existing.kind} task "${existing.name}" (${store.itemCount(existing.id)} in all)`);
      return 0;
    }
    const spec = parseTaskSpec(taskSpecInput(values, kind ?? 'pairwise'));
    const items = readItemsFile(file, spec.kind);
    const task = store.db.transaction(() => {
      const t = store.createTask(spec);
      store.addItems(t.id, items);
      return t;
    }).immediate();
    out(`created ${task.kind} task "${task.name}" with ${items.length} items (${task.config.perItem} annotators per item${task.kind === 'rating' ? `; dimensions ${task.config.dimensions.join(', ')}` : ''})`);
    return 0;
  });
}

async function generateCmd(argv: string[]): Promise<number> {
  const { values } = parse(argv, {
    ...TASK_FLAGS,
    prompts: { type: 'string' },
    model: { type: 'string', multiple: true },
    name: { type: 'string', multiple: true },
    samples: { type: 'string' },
    'max-new-tokens': { type: 'string' },
    temperature: { type: 'string' },
    'top-p': { type: 'string' },
    seed: { type: 'string' },
    'batch-size': { type: 'string' },
  });
  if (!values.task) throw new UsageError('missing --task NAME.');
  if (!values.prompts) throw new UsageError('missing --prompts FILE (one prompt per line, or JSONL with "prompt").');
  if (!values.model?.length) throw new UsageError('missing --model DIR (give it twice for model A vs model B).');
  const kind = kindOf(values.kind) ?? 'pairwise';
  let promptsText: string;
  try {
    promptsText = readFileSync(values.prompts, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read ${values.prompts}: ${(err as Error).message}`);
  }
  // Hub ids (org/name) → their snapshots in the HF cache, named by the id's last part unless --name says otherwise
  const models: string[] = [];
  for (const m of values.model) models.push(await resolveModel(m));
  const request: Record<string, unknown> = { task: taskSpecInput(values, kind), models, prompts: parsePrompts(promptsText, values.prompts) };
  if (values.name) request.modelNames = values.name;
  else if (models.some((m, i) => m !== values.model?.[i])) request.modelNames = values.model.map((m) => basename(m.split('@')[0] as string));
  const opt = (key: string, v: number | undefined): void => {
    if (v !== undefined) request[key] = v;
  };
  opt('samples', int(values.samples, '--samples', 1));
  opt('maxNewTokens', int(values['max-new-tokens'], '--max-new-tokens', 1));
  opt('temperature', num(values.temperature, '--temperature'));
  opt('topP', num(values['top-p'], '--top-p'));
  opt('seed', int(values.seed, '--seed', 0));
  opt('batchSize', int(values['batch-size'], '--batch-size', 1));
  const store = Store.open(dirOf(values));
  let failed: string | null = null;
  const service = new GenerationService(store, {
    ...(process.env.RLHF_GENERATOR_MODULE ? { modulePath: process.env.RLHF_GENERATOR_MODULE } : {}),
    onError: (_task, err) => {
      failed = err instanceof Error ? err.message : String(err);
    },
  });
  try {
    const task = await service.create(request);
    out(`generating ${task.kind} task "${task.name}" from ${task.config.generation!.prompts.length} prompts…`);
    let last = '';
    const timer = setInterval(() => {
      const p = service.progress.get(task.name);
      const line = p ? `  ${p.done}/${p.total} items` : '';
      if (line && line !== last) out((last = line));
    }, 1000);
    await service.idle();
    clearInterval(timer);
    if (failed) {
      process.stderr.write(`rlhf studio generate: ${failed}\n`);
      return 1;
    }
    out(`done: task "${task.name}" has ${store.itemCount(task.id)} items`);
    return 0;
  } finally {
    await service.close();
    store.close();
  }
}

function exportCmd(argv: string[]): number {
  const { values } = parse(argv, { task: { type: 'string' }, format: { type: 'string' }, out: { type: 'string' }, aggregate: { type: 'string' }, ties: { type: 'string' } });
  if (!values.task) throw new UsageError('missing --task NAME.');
  if (!values.format || !(EXPORT_FORMATS as readonly string[]).includes(values.format)) throw new UsageError(`--format must be one of ${EXPORT_FORMATS.join(', ')}${values.format ? ` (got '${values.format}')` : ''}.`);
  if (!values.out) throw new UsageError('missing --out FILE.jsonl.');
  if (values.aggregate && values.aggregate !== 'majority' && values.aggregate !== 'none') throw new UsageError(`--aggregate must be majority or none (got '${values.aggregate}').`);
  if (values.ties && values.ties !== 'drop' && values.ties !== 'include') throw new UsageError(`--ties must be drop or include (got '${values.ties}').`);
  return withStore(dirOf(values), (store) => {
    const task = store.getTask(values.task!);
    const opts: ExportOptions = { format: values.format as ExportFormat };
    if (values.aggregate) opts.aggregate = values.aggregate as 'majority' | 'none';
    if (values.ties) opts.ties = values.ties as 'drop' | 'include';
    const { rows, summary } = exportRows(store, task, opts);
    writeJsonl(values.out!, rows);
    const dropped = Object.entries(summary.dropped).map(([k, n]) => `${n} ${k.replace('_', ' ')}`);
    out(`wrote ${rows.length} rows to ${values.out} (${summary.format}, from ${summary.labels} labels${dropped.length ? `; left out: ${dropped.join(', ')}` : ''})`);
    return 0;
  });
}

function tasksCmd(argv: string[]): number {
  const { values } = parse(argv, {});
  return withStore(dirOf(values), (store) => {
    const tasks = store.listTasks();
    if (tasks.length === 0) {
      out('no tasks yet: create one with `rlhf studio import --task NAME --kind pairwise FILE.jsonl`');
      return 0;
    }
    out(`${'task'.padEnd(24)} ${'kind'.padEnd(9)} ${'status'.padEnd(10)} ${'items'.padStart(7)} ${'complete'.padStart(9)} ${'labels'.padStart(7)}  k`);
    for (const t of tasks) {
      const p = store.progress(t);
      out(`${t.name.padEnd(24)} ${t.kind.padEnd(9)} ${t.status.padEnd(10)} ${String(p.items).padStart(7)} ${String(p.complete).padStart(9)} ${String(p.labels).padStart(7)}  ${t.config.perItem}`);
    }
    return 0;
  });
}

function statsCmd(argv: string[]): number {
  const { values } = parse(argv, { task: { type: 'string' }, json: { type: 'boolean' } });
  if (!values.task) throw new UsageError('missing --task NAME.');
  return withStore(dirOf(values), (store) => {
    const s = taskStats(store, store.getTask(values.task!));
    if (values.json) {
      out(JSON.stringify(s, null, 2));
      return 0;
    }
    const f = (x: number | null): string => (x === null ? 'n/a' : x.toFixed(3));
    out(`${s.task.title} (${s.task.kind}, ${s.task.status}): ${s.progress.complete}/${s.progress.items} items complete, ${s.progress.labels} labels`);
    for (const u of s.progress.byUser) out(`  ${u.name.padEnd(20)} ${String(u.labels).padStart(6)} labels${u.medianMs !== null ? `, median ${(u.medianMs / 1000).toFixed(1)} s` : ''}`);
    for (const a of s.agreement) out(`  ${a.measure}${a.dimension ? `, ${a.dimension}` : ''}: ${f(a.value)} (${a.reading}; ${a.items} items with ≥2 labels)`);
    for (const w of s.winRates) if (w.model < w.opponent) out(`  ${w.model} vs ${w.opponent}: ${w.wins}–${w.losses}, ${w.ties} ties, ${w.bothBad} both bad; win rate ${f(w.winRate)}`);
    for (const d of s.ratings) out(`  ${d.dimension}: ${d.byModel.map((m) => `${m.model} ${m.mean.toFixed(2)} (n=${m.n})`).join(', ')}`);
    for (const p of s.pairAgreement.slice(0, 10)) out(`  ${p.a} & ${p.b}: Cohen's kappa ${f(p.kappa)} on ${p.shared} items (${agreementWord(p.kappa)})`);
    return 0;
  });
}

function removeTaskCmd(argv: string[]): number {
  const { values } = parse(argv, { task: { type: 'string' }, yes: { type: 'boolean' } });
  if (!values.task) throw new UsageError('missing --task NAME.');
  return withStore(dirOf(values), (store) => {
    const task = store.getTask(values.task!);
    const n = store.progress(task).labels;
    if (!values.yes) throw new UsageError(`this deletes task "${task.name}" with its ${n} labels for good; add --yes to confirm (export it first).`);
    store.deleteTask(task.id);
    out(`removed task "${task.name}" (${n} labels)`);
    return 0;
  });
}

function annotatorCmd(argv: string[]): number {
  const [action, ...rest] = argv;
  const { values, positionals } = parse(rest, { admin: { type: 'boolean' }, url: { type: 'string' } }, 1);
  const name = positionals[0];
  return withStore(dirOf(values), (store) => {
    const base = values.url ?? baseUrl(store);
    const who = (): ReturnType<Store['listUsers']>[number] => {
      if (!name) throw new UsageError(`missing NAME: rlhf studio annotator ${action} NAME`);
      const u = store.findUserByName(name);
      if (!u) throw new UsageError(`nobody is called "${name}"; see \`rlhf studio annotator list\`.`);
      return u;
    };
    switch (action) {
      case 'add': {
        if (!name) throw new UsageError('missing NAME: rlhf studio annotator add NAME');
        const { user, token } = store.createUser(name, values.admin ? 'admin' : 'annotator');
        out(`added ${user.role} "${user.name}". Their personal sign-in link (send it privately; it is shown once):`);
        out(`  ${signInLink(base, token)}`);
        out(`  token: ${token}`);
        return 0;
      }
      case 'link': {
        const u = who();
        const token = store.resetToken(u.id);
        out(`new sign-in link for "${u.name}" (their old link no longer works):`);
        out(`  ${signInLink(base, token)}`);
        return 0;
      }
      case 'disable':
      case 'enable': {
        const u = who();
        store.setDisabled(u.id, action === 'disable');
        out(`${action}d "${u.name}"`);
        return 0;
      }
      case 'list': {
        const users = store.listUsers();
        const counts = new Map((store.db.prepare('SELECT user_id, COUNT(*) AS n FROM labels GROUP BY user_id').all() as { user_id: number; n: number }[]).map((r) => [r.user_id, r.n]));
        for (const u of users) out(`${u.name.padEnd(24)} ${u.role.padEnd(10)} ${String(counts.get(u.id) ?? 0).padStart(6)} labels${u.disabled ? '  (disabled)' : ''}`);
        if (users.length === 0) out('nobody yet: start the server (it creates the admin) or `rlhf studio annotator add NAME`');
        return 0;
      }
      default:
        throw new UsageError(`unknown action '${action ?? ''}': use add, list, link, disable or enable.`);
    }
  });
}

export const studio: Command = {
  name: 'studio',
  summary: 'human-feedback studio: label in the browser, export datasets',
  help: HELP,
  async run(argv) {
    const [sub, ...rest] = argv;
    switch (sub) {
      case undefined:
        return serveCmd([]);
      case 'serve':
        return serveCmd(rest);
      case 'import':
        return importCmd(rest);
      case 'generate':
        return generateCmd(rest);
      case 'export':
        return exportCmd(rest);
      case 'tasks':
        return tasksCmd(rest);
      case 'stats':
        return statsCmd(rest);
      case 'remove-task':
        return removeTaskCmd(rest);
      case 'annotator':
      case 'annotators':
        return annotatorCmd(rest);
      case 'add-annotator':
        return annotatorCmd(['add', ...rest]);
      default:
        if (sub.startsWith('-')) return serveCmd(argv);
        throw new UsageError(`unknown subcommand '${sub}'. Run 'rlhf studio --help'.`);
    }
  },
};
