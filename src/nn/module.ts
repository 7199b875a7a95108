// Module: a tree of named parameters, buffers and submodules (PyTorch's nn.Module, minus hooks).
//
//   class MLP extends Module {
//     fc1 = this.registerModule('fc1', new Linear(2, 8));
//     fc2 = this.registerModule('fc2', new Linear(8, 1));
//     forward(x: Tensor) { return this.fc2.forward(this.fc1.forward(x).tanh()); }
//   }
//
// Names follow the registration path ('h.0.attn.c_attn.weight'), so a state dict maps key for key
// onto a Hugging Face checkpoint. Parameters and buffers are kept out of tidy() scopes: a module
// owns them until dispose().
import { Tensor } from '../torch/tensor.js';
import type { DType, Device } from '../torch/index.js';
import { keep, noGrad, tidy } from '../torch/index.js';

export class StateDictError extends Error {
  override name = 'StateDictError';
}

export class Module {
  training = true;
  readonly #params = new Map<string, Tensor>();
  readonly #buffers = new Map<string, { t: Tensor; persistent: boolean }>();
  readonly #modules = new Map<string, Module>();

  /** Adds a trainable tensor under name; it requires grad and survives every tidy() scope. */
  protected registerParameter(name: string, t: Tensor): Tensor {
    keep(t);
    if (!t.requiresGrad) t.requiresGrad = true;
    this.#params.set(name, t);
    return t;
  }

  /** Adds a non-trainable tensor (e.g. a causal mask); persistent ones go into the state dict. */
  protected registerBuffer(name: string, t: Tensor, persistent = true): Tensor {
    keep(t);
    this.#buffers.set(name, { t, persistent });
    return t;
  }

  protected registerModule<M extends Module>(name: string, m: M): M {
    this.#modules.set(name, m);
    return m;
  }

  /** Direct children, in registration order. */
  children(): [string, Module][] {
    return [...this.#modules.entries()];
  }

  namedModules(prefix = ''): [string, Module][] {
    const out: [string, Module][] = [[prefix, this]];
    for (const [n, m] of this.#modules) out.push(...m.namedModules(prefix ? `${prefix}.${n}` : n));
    return out;
  }

  namedParameters(prefix = ''): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    for (const [n, p] of this.#params) out.push([prefix ? `${prefix}.${n}` : n, p]);
    for (const [n, m] of this.#modules) out.push(...m.namedParameters(prefix ? `${prefix}.${n}` : n));
    return dedupe(out);
  }

  parameters(): Tensor[] {
    return this.namedParameters().map(([, p]) => p);
  }

  namedBuffers(prefix = '', onlyPersistent = false): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    for (const [n, b] of this.#buffers) if (!onlyPersistent || b.persistent) out.push([prefix ? `${prefix}.${n}` : n, b.t]);
    for (const [n, m] of this.#modules) out.push(...m.namedBuffers(prefix ? `${prefix}.${n}` : n, onlyPersistent));
    return out;
  }

  /** Number of distinct parameter elements (tied weights counted once). */
  numParameters(): number {
    return this.parameters().reduce((a, p) => a + p.numel, 0);
  }

  /** Training mode turns dropout on; eval mode off. Applies to every submodule. */
  train(mode = true): this {
    for (const [, m] of this.namedModules()) m.training = mode;
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  /** Forgets every parameter's gradient. */
  zeroGrad(): void {
    for (const p of this.parameters()) p.zeroGrad();
  }

  /** Freezes (or unfreezes) every parameter. */
  requiresGrad_(v: boolean): this {
    for (const p of this.parameters()) p.requiresGrad = v;
    return this;
  }

  /** Parameters and persistent buffers by dotted name. The tensors are the module's own, not copies. */
  stateDict(): Map<string, Tensor> {
    return new Map([...this.namedParameters(), ...this.namedBuffers('', true)]);
  }

  /**
   * Copies values into the module's tensors (converting dtype/device as needed).
   * strict: every key must match both ways and every shape must agree; the error lists all differences.
   */
  loadStateDict(sd: Map<string, Tensor>, opts: { strict?: boolean } = {}): { missing: string[]; unexpected: string[] } {
    const own = this.stateDict();
    const missing = [...own.keys()].filter((k) => !sd.has(k));
    const unexpected = [...sd.keys()].filter((k) => !own.has(k));
    const mismatched: string[] = [];
    for (const [k, t] of own) {
      const src = sd.get(k);
      if (src && src.shape.join() !== t.shape.join()) mismatched.push(`${k}: checkpoint [${src.shape.join(', ')}] vs model [${t.shape.join(', ')}]`);
    }
    const strict = opts.strict ?? true;
    if (mismatched.length || (strict && (missing.length || unexpected.length))) {
      const parts: string[] = [];
      if (missing.length) parts.push(`missing keys (${missing.length}): ${list(missing)}`);
      if (unexpected.length) parts.push(`unexpected keys (${unexpected.length}): ${list(unexpected)}`);
      if (mismatched.length) parts.push(`wrong shapes (${mismatched.length}): ${list(mismatched)}`);
      throw new StateDictError(`state dict does not match the model:\n  ${parts.join('\n  ')}`);
    }
    noGrad(() =>
      tidy(() => {
        for (const [k, t] of own) {
          const src = sd.get(k);
          if (src) t.copy_(src);
        }
      }),
    );
    return { missing, unexpected };
  }

  /** Converts every parameter and buffer in place (references stay valid): to('bfloat16'), to('cuda'). */
  to(target: DType | Device): this {
    const seen = new Set<Tensor>();
    noGrad(() => {
      for (const [, t] of [...this.namedParameters(), ...this.namedBuffers()]) {
        if (seen.has(t)) continue;
        seen.add(t);
        const isFloatTarget = target === 'float32' || target === 'float64' || target === 'bfloat16' || target === 'float16';
        if (isFloatTarget && !['float32', 'float64', 'bfloat16', 'float16'].includes(t.dtype)) continue; // keep integer buffers
        const c = t.to(target);
        t.setData_(c);
        c.dispose();
      }
    });
    return this;
  }

  /** Frees every parameter and buffer. The module is unusable afterwards. */
  dispose(): void {
    for (const [, t] of this.namedParameters()) t.dispose();
    for (const [, t] of this.namedBuffers()) t.dispose();
  }
}

function dedupe(entries: [string, Tensor][]): [string, Tensor][] {
  const seen = new Set<Tensor>();
  return entries.filter(([, t]) => (seen.has(t) ? false : (seen.add(t), true)));
}

function list(keys: string[]): string {
  return keys.length <= 12 ? keys.join(', ') : `${keys.slice(0, 12).join(', ')}, … (${keys.length - 12} more)`;
}

/** Runs fn with dropout off in every module of `models` (nulls skipped), restoring each module's mode afterwards. */
export function inEvalMode<T>(models: readonly (Module | null)[], fn: () => T): T {
  const modules = models.flatMap((m) => (m ? m.namedModules().map(([, x]) => x) : []));
  const modes = modules.map((m) => m.training);
  for (const m of modules) m.training = false;
  try {
    return fn();
  } finally {
    modules.forEach((m, i) => (m.training = modes[i] as boolean));
  }
}
