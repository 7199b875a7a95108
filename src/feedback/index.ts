// The human-feedback studio as a library: start the server, read and export labels, agreement metrics.
export { startStudio, createStudioApp, ensureAdmin } from './server.js';
export type { StudioOptions, RunningStudio } from './server.js';
export { Store } from './store.js';
export type { Assignment, SubmitResult, TaskProgress } from './store.js';
export { exportRows, toJsonl, writeJsonl, EXPORT_FORMATS } from './export.js';
export type { ExportFormat, ExportOptions, ExportSummary } from './export.js';
export { cohensKappa, fleissKappa, krippendorffAlpha } from './agreement.js';
export type { AlphaMetric } from './agreement.js';
export { taskStats } from './stats.js';
export type { TaskStats } from './stats.js';
export { parseItemsJsonl, readItemsFile, parsePrompts } from './import-jsonl.js';
export { GenerationWorker, DEFAULT_GENERATOR_MODULE } from './generation-worker.js';
export type { Generator, GenerateOptions, LoadForGeneration } from './generation-worker.js';
export * from './errors.js';
export * from './types.js';
