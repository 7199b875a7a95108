// The studio's domain types: tasks, items, responses, people, labels.
// Stored label values are canonical: they name responses by their index in the item (0, 1, …),
// never by the letter an annotator saw, so exports do not depend on the random display order.

export const TASK_KINDS = ['pairwise', 'rating', 'ranking', 'edit'] as const;
export type TaskKind = (typeof TASK_KINDS)[number];

/** The rating dimensions a rating task gets when none are given. */
export const DEFAULT_DIMENSIONS = ['coherence', 'creativity', 'relevance', 'fluency'] as const;

/** Outcomes of a pairwise comparison: response 0 wins, response 1 wins, a tie, or both are bad. */
export const PAIRWISE_CHOICES = [0, 1, 'tie', 'both_bad'] as const;
export type PairwiseChoice = (typeof PAIRWISE_CHOICES)[number];

export type Role = 'admin' | 'annotator';
export type TaskStatus = 'ready' | 'generating' | 'failed';

/** How a live-generation task makes its items. */
export interface GenerationSpec {
  /** Model directories (Hugging Face layout). One model: k samples each; two: model A vs model B. */
  models: string[];
  /** Display names of the models (default: the directory's base name). */
  modelNames: string[];
  prompts: string[];
  /** Samples per prompt for one model (pairwise: 2, ranking: k). */
  samples: number;
  maxNewTokens: number;
  temperature: number;
  topP?: number;
  seed: number;
  batchSize: number;
}

export interface TaskConfig {
  /** k: how many distinct annotators label each item. */
  perItem: number;
  /** Rating dimensions (rating tasks only). */
  dimensions: string[];
  /** Minutes an item stays reserved for the annotator it was given to before it may go to someone else. */
  leaseMinutes: number;
  generation?: GenerationSpec;
}

export interface Task {
  id: number;
  name: string;
  kind: TaskKind;
  title: string;
  instructions: string;
  config: TaskConfig;
  status: TaskStatus;
  /** Why generation failed, or null. */
  error: string | null;
  createdAt: number;
}

export interface ResponseRow {
  id: number;
  idx: number;
  text: string;
  model: string | null;
}

export interface Item {
  id: number;
  taskId: number;
  position: number;
  externalId: string | null;
  prompt: string;
  meta: Record<string, unknown>;
  responses: ResponseRow[];
}

export interface User {
  id: number;
  name: string;
  role: Role;
  disabled: boolean;
  createdAt: number;
}

export interface PairwiseValue {
  choice: PairwiseChoice;
  reason?: string;
}
export interface RatingValue {
  scores: Record<string, number>;
  comment?: string;
}
export interface RankingValue {
  /** Response indices, best first. */
  ranking: number[];
}
export interface EditValue {
  text: string;
  /** Whether the text differs from the draft response the item came with. */
  edited: boolean;
}
export type LabelValue = PairwiseValue | RatingValue | RankingValue | EditValue;

export interface Label {
  id: number;
  taskId: number;
  itemId: number;
  userId: number;
  value: LabelValue;
  /** Response indices in the order the annotator saw them (A, B, …). */
  shown: number[];
  createdAt: number;
  durationMs: number | null;
  idempotencyKey: string;
}
