// LoRA (Hu et al. 2021, "LoRA: Low-Rank Adaptation of Large Language Models"): a frozen weight W₀
// plus a trainable low-rank update (eq. 3),
//
//   h = W₀x + s·B·A·dropout(x)      A (r, in) ~ kaiming-uniform(a = √5),  B (out, r) = 0,
//   s = α / r, or α / √r with rsLoRA (Kalajdzievski 2023, "A Rank Stabilization Scaling Factor")
//
// so at initialisation the adapted model IS the base model, and per adapted layer only
// r·(in + out) numbers train. Everything follows PEFT's LoraModel (peft/tuners/lora): which layers
// are targeted (a name list: a layer matches when its full name is one of them or ends with
// ".<name>"; a string: a regular expression the full name must match whole), the init, the
// scaling, the dropout on the adapter's input only, Conv1D's (in, out) weights (fan_in_fan_out),
// merging W₀ += s·B·A, and modules_to_save (whole modules trained and saved with the adapter, as a
// reward model's fresh score head).
//
// The base model is left as it is: its tree, names and state dict are still Hugging Face's, so
// savePretrained, copyModel and checkpoints see the base only. The adapters live in a LoraModel
// beside it, each registered under the full name of the layer it adapts, so the LoraModel's state
// dict is PEFT's saved one without the "base_model.model." prefix (lora-peft.ts):
//
//   transformer.h.0.attn.c_attn.lora_A.weight   (r, in)
//   transformer.h.0.attn.c_attn.lora_B.weight   (out, r)
//
// Each adapted layer gets an own `forward` on the instance (the class's is untouched) that adds the
// low-rank term to the layer's output — unless the adapters are disabled: DPO's and PPO's
// reference policy is the same weights with the adapters off, one copy in memory (TRL with a PEFT
// model). The adapter's dropout is on when the layer it adapts is in training mode.
import type { Tensor, Device } from '../torch/tensor.js';
import { F, noGrad, tidy } from '../torch/index.js';
import { Module } from './module.js';
import { Conv1D, Linear } from './layers.js';
import { zeros_ } from './init.js';

/** The layers LoRA adapts: Linear (weight (out, in)) and Conv1D (weight (in, out): fan_in_fan_out). */
export type LoraTargetLayer = Linear | Conv1D;

/** PEFT's shorthand for "every Linear/Conv1D layer but the output layer". */
export const ALL_LINEAR = 'all-linear';

export interface LoraConfig {
  /** Rank r of the update B·A (≥ 1). */
  r: number;
  /** α: the update is scaled by α/r (α/√r with useRslora). */
  loraAlpha: number;
  /** Dropout on the adapter's input in training mode (0: none). */
  loraDropout?: number;
  /**
   * Layers to adapt, as PEFT's target_modules: names (a layer matches when its full name is one of
   * them or ends with ".<name>"), a regular expression its full name must match whole, or 'all-linear'.
   */
  targetModules: readonly string[] | string;
  /** Scale by α/√r (rsLoRA) instead of α/r. */
  useRslora?: boolean;
  /**
   * Modules trained whole and saved with the adapter (PEFT's modules_to_save), matched like names in
   * targetModules; names that match nothing are skipped, as PEFT does (a causal LM has no 'score').
   */
  modulesToSave?: readonly string[] | null;
}

/** A LoRA setting or target that cannot work; the message names it and the fix. */
export class LoraError extends Error {
  override name = 'LoraError';
}

/** s = α/r, or α/√r with rsLoRA. */
export function loraScaling(r: number, alpha: number, useRslora = false): number {
  return useRslora ? alpha / Math.sqrt(r) : alpha / r;
}

/** Whether a module's full name is targeted (PEFT's check_target_module_exists without layers_to_transform). */
export function matchesTarget(name: string, targets: readonly string[] | string): boolean {
  if (typeof targets === 'string') return targetRegex(targets).test(name);
  return targets.some((t) => name === t || name.endsWith(`.${t}`));
}

function targetRegex(pattern: string): RegExp {
  try {
    return new RegExp(`^(?:${pattern})$`); // Python's re.fullmatch
  } catch (err) {
    throw new LoraError(`LoRA target_modules pattern ${JSON.stringify(pattern)} is not a valid regular expression (${(err as Error).message})`, { cause: err });
  }
}

function isTargetLayer(m: Module): m is LoraTargetLayer {
  return m instanceof Linear || m instanceof Conv1D;
}

/** in and out features of a layer, whatever its weight's layout. */
function features(m: LoraTargetLayer): { inF: number; outF: number } {
  return m instanceof Conv1D ? { inF: m.nIn, outF: m.nOut } : { inF: m.inFeatures, outF: m.outFeatures };
}

/** The model's output-embedding weight, when it has one: the fused log-prob kernels read it directly, so LoRA on it would be ignored. */
function outputWeight(model: Module): Tensor | null {
  const m = model as Module & { outputEmbeddings?: () => Tensor };
  return typeof m.outputEmbeddings === 'function' ? m.outputEmbeddings() : null;
}

/** "c_attn (transformer.h.0.attn.c_attn, ×2), …": the model's adaptable layers by last name, for error messages. */
export function describeLinearLayers(model: Module): string {
  const byLeaf = new Map<string, string[]>();
  for (const [name, m] of model.namedModules()) {
    if (!name || !isTargetLayer(m)) continue;
    const leaf = name.slice(name.lastIndexOf('.') + 1);
    byLeaf.set(leaf, [...(byLeaf.get(leaf) ?? []), name]);
  }
  if (byLeaf.size === 0) return 'none (it has no Linear or Conv1D layers)';
  return [...byLeaf].map(([leaf, names]) => `${leaf} (${names[0]}${names.length > 1 ? `, ×${names.length}` : ''})`).join(', ');
}

/**
 * One adapted layer: the two factors of its update, named as PEFT names them so that the state dict
 * keys are `<layer>.lora_A.weight` (r, in) and `<layer>.lora_B.weight` (out, r).
 */
export class LoraLayer extends Module {
  readonly lora_A: Linear;
  readonly lora_B: Linear;
  readonly scaling: number;
  /** The target stores its weight (in, out) (Conv1D), so the update is (B·A)ᵀ. */
  readonly fanInFanOut: boolean;
  constructor(
    readonly target: LoraTargetLayer,
    readonly r: number,
    readonly alpha: number,
    readonly dropoutP: number,
    useRslora: boolean,
    private readonly state: { enabled: boolean },
  ) {
    super();
    const { inF, outF } = features(target);
    this.fanInFanOut = target instanceof Conv1D;
    this.scaling = loraScaling(r, alpha, useRslora);
    this.lora_A = this.registerModule('lora_A', new Linear(inF, r, { bias: false })); // kaiming-uniform(a = √5), as nn.Linear and PEFT
    this.lora_B = this.registerModule('lora_B', new Linear(r, outF, { bias: false }));
    zeros_(this.lora_B.weight); // B = 0: the update starts at exactly 0
    const device = target.weight.device as Device;
    if (device !== 'cpu') this.to(device);
  }

  /** y + s·B·A·dropout(x): the target's output y for input x, adapted (y unchanged while the adapters are disabled). */
  adapt(x: Tensor, y: Tensor): Tensor {
    if (!this.state.enabled) return y;
    const A = this.lora_A.weight;
    const xd = this.dropoutP > 0 && this.target.training ? F.dropout(x, this.dropoutP, true) : x;
    const xa = xd.dtype === A.dtype ? xd : xd.to(A.dtype); // PEFT casts the input to the adapter's dtype
    const delta = F.linear(F.linear(xa, A), this.lora_B.weight); // (…, in) → (…, r) → (…, out)
    return y.add(delta.dtype === y.dtype ? delta : delta.to(y.dtype), this.scaling); // y + s·delta
  }

  /** s·B·A in the target weight's layout: (out, in) for Linear, (in, out) for Conv1D (PEFT's get_delta_weight). */
  deltaWeight(): Tensor {
    const BA = this.lora_B.weight.matmul(this.lora_A.weight).mul(this.scaling); // (out, r)·(r, in) → (out, in)
    return this.fanInFanOut ? BA.transpose(0, 1) : BA; // (in, out) for Conv1D
  }
}

/** Resolved settings of a LoraModel: what adapter_config.json records. */
export interface ResolvedLoraConfig {
  r: number;
  loraAlpha: number;
  loraDropout: number;
  /** As given (a list or a pattern); 'all-linear' expanded to the layers' last names, as PEFT saves it. */
  targetModules: string[] | string;
  useRslora: boolean;
  modulesToSave: string[] | null;
  /** Whether the adapted layers store (in, out) weights (GPT-2's Conv1D); PEFT sets it from the layers. */
  fanInFanOut: boolean;
}

/**
 * Low-rank adapters on the targeted layers of `base` (see the top of this file). Freezes every
 * parameter of the base but the modules to save; the adapters' own parameters (and those modules')
 * are `parameters()`: what the optimizer gets.
 */
export class LoraModel extends Module {
  readonly config: ResolvedLoraConfig;
  /** Adapted layers by full name. */
  readonly layers = new Map<string, LoraLayer>();
  /** Modules trained whole (modules_to_save) by full name; they belong to the base. */
  readonly saved = new Map<string, Module>();
  readonly #state = { enabled: true };
  #attached = true;
  /** The base parameters' requires-grad flags before freezing, restored when the adapters go. */
  readonly #requiresGrad = new Map<Tensor, boolean>();

  constructor(readonly base: Module, cfg: LoraConfig) {
    super();
    const r = cfg.r;
    const alpha = cfg.loraAlpha;
    const dropout = cfg.loraDropout ?? 0;
    if (!Number.isInteger(r) || r < 1) throw new LoraError(`LoRA rank r must be a whole number ≥ 1 (got ${r}); r = 0 means no adapter: train every weight instead (--lora-r 0)`);
    if (!(alpha > 0) || !Number.isFinite(alpha)) throw new LoraError(`LoRA alpha must be a positive number (got ${alpha}); the update is scaled by alpha/r`);
    if (!(dropout >= 0 && dropout < 1)) throw new LoraError(`LoRA dropout must be in [0, 1) (got ${dropout})`);
    const modulesToSave = cfg.modulesToSave ? [...cfg.modulesToSave] : null;
    const outW = outputWeight(base);
    let targets: string[] | string = typeof cfg.targetModules === 'string' ? cfg.targetModules : [...cfg.targetModules];
    const given = typeof targets === 'string' ? [targets] : targets;
    if (given.length === 1 && given[0]?.toLowerCase() === ALL_LINEAR) {
      // PEFT's _maybe_include_all_linear_layers: every Linear/Conv1D by last name, but the output layer and the modules to save
      const leaves = new Set<string>();
      for (const [name, m] of base.namedModules()) {
        if (!name || !isTargetLayer(m) || m.weight === outW || (modulesToSave && matchesTarget(name, modulesToSave))) continue;
        leaves.add(name.slice(name.lastIndexOf('.') + 1));
      }
      targets = [...leaves].sort();
    }
    if (Array.isArray(targets) && targets.length === 0) throw new LoraError(`LoRA needs target modules: name the layers to adapt (e.g. q_proj,v_proj or all-linear); this model's are ${describeLinearLayers(base)}`);

    // Modules to save first: they are trained whole, so they are not adapted.
    const inSaved = (name: string): boolean => [...this.saved.keys()].some((s) => name === s || name.startsWith(`${s}.`));
    if (modulesToSave) {
      for (const [name, m] of base.namedModules()) {
        if (name && !inSaved(name) && matchesTarget(name, modulesToSave)) this.saved.set(name, m);
      }
    }
    const chosen: [string, LoraTargetLayer][] = [];
    for (const [name, m] of base.namedModules()) {
      if (!name || inSaved(name) || !matchesTarget(name, targets)) continue;
      if (!isTargetLayer(m)) {
        throw new LoraError(`LoRA target module ${name} is a ${m.constructor.name}; LoRA adapts Linear and Conv1D layers — this model's are ${describeLinearLayers(base)}`);
      }
      if (m.weight === outW) {
        throw new LoraError(`LoRA target module ${name} is the output layer (the LM head), whose weight the log-prob kernels read directly; adapt the layers inside the model instead: ${describeLinearLayers(base)}`);
      }
      if (Object.prototype.hasOwnProperty.call(m, 'forward')) throw new LoraError(`${name} already carries a LoRA adapter; merge or unload it before adding another`);
      chosen.push([name, m]);
    }
    if (chosen.length === 0) {
      const what = typeof targets === 'string' ? `pattern ${JSON.stringify(targets)}` : targets.join(', ');
      throw new LoraError(`LoRA target modules (${what}) match no layer of the model; its Linear/Conv1D layers are: ${describeLinearLayers(base)}`);
    }

    for (const p of base.parameters()) this.#requiresGrad.set(p, p.requiresGrad);
    base.requiresGrad_(false); // the base is frozen…
    for (const [name, m] of this.saved) {
      this.registerModule(name, m);
      m.requiresGrad_(true); // …but for the modules saved whole
    }
    for (const [name, target] of chosen) {
      const layer = this.registerModule(name, new LoraLayer(target, r, alpha, dropout, cfg.useRslora ?? false, this.#state));
      this.layers.set(name, layer);
      const forward = target.forward; // the class's
      // In a scope of its own, so that the base output, the update and the dropped-out input are freed
      // as soon as their sum exists (autograd keeps what backward needs): a training step's live
      // activations grow by what the adapters save (dropout(x) and A·x), not by three copies per layer.
      const adapted = (x: Tensor): Tensor => tidy(() => layer.adapt(x, forward.call(target, x)));
      Object.defineProperty(target, 'forward', { value: adapted, configurable: true, writable: true, enumerable: false });
    }
    this.config = {
      r,
      loraAlpha: alpha,
      loraDropout: dropout,
      targetModules: targets,
      useRslora: cfg.useRslora ?? false,
      modulesToSave,
      fanInFanOut: chosen.some(([, m]) => m instanceof Conv1D),
    };
  }

  /** Whether the adapters are still attached (not merged or unloaded). */
  get attached(): boolean {
    return this.#attached;
  }

  /** Whether the adapted layers currently add their update. */
  get adaptersEnabled(): boolean {
    return this.#state.enabled;
  }

  /**
   * Runs fn with every adapter switched off: the base model's own outputs (PEFT's disable_adapter()).
   * Modules saved whole are trained in place, so they keep their trained values.
   */
  disableAdapters<T>(fn: () => T): T {
    const prev = this.#state.enabled;
    this.#state.enabled = false;
    try {
      return fn();
    } finally {
      this.#state.enabled = prev;
    }
  }

  /** Trainable parameters: every lora_A, lora_B and the modules saved whole. */
  trainableParameters(): Tensor[] {
    return this.parameters();
  }

  /** PEFT's print_trainable_parameters: trainable, all (base + adapters) and the trainable share in %. */
  parameterCounts(): { trainable: number; total: number; percent: number } {
    const trainable = this.numParameters();
    const adapters = [...this.layers.values()].reduce((a, l) => a + l.numParameters(), 0);
    const total = this.base.numParameters() + adapters;
    return { trainable, total, percent: (100 * trainable) / total };
  }

  /** Train/eval mode for the base model (its dropout, and so the adapters' dropout) and the adapters. */
  override train(mode = true): this {
    super.train(mode);
    this.base.train(mode);
    return this;
  }

  /**
   * Folds every update into its layer, W₀ += s·B·A ((B·A)ᵀ for Conv1D), in the weight's dtype, and
   * detaches the adapters (PEFT's merge_and_unload): the base is a plain model again (trainable as
   * before), with the adapted outputs. The LoraModel is empty afterwards.
   */
  mergeAndUnload(): void {
    this.#assertAttached('merge');
    noGrad(() => {
      for (const layer of this.layers.values()) {
        tidy(() => {
          const W = layer.target.weight;
          const d = layer.deltaWeight();
          W.add_(d.dtype === W.dtype ? d : d.to(W.dtype));
        });
      }
    });
    this.unload();
  }

  /**
   * Detaches the adapters without merging: the base computes its own outputs again, and its
   * parameters require grad as they did before. Frees the adapters.
   */
  unload(): void {
    if (!this.#attached) return;
    for (const layer of this.layers.values()) {
      Reflect.deleteProperty(layer.target, 'forward');
      layer.dispose();
    }
    for (const [p, g] of this.#requiresGrad) if (!p.isDisposed && p.requiresGrad !== g) p.requiresGrad = g;
    this.#attached = false;
  }

  /** Frees the adapters (the modules saved whole belong to the base and are left alone). */
  override dispose(): void {
    this.unload();
  }

  #assertAttached(what: string): void {
    if (!this.#attached) throw new LoraError(`cannot ${what}: the adapters were already merged or unloaded`);
  }
}

/** Puts low-rank adapters on `model`'s target layers and freezes the rest (see LoraModel). */
export function applyLora(model: Module, cfg: LoraConfig): LoraModel {
  return new LoraModel(model, cfg);
}
