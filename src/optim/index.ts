export { AdamW, ADAMW_DEFAULTS, type AdamWConfig } from './adamw.js';
export { SGD, SGD_DEFAULTS, type SGDConfig } from './sgd.js';
export { constantSchedule, linearSchedule, cosineSchedule, LRScheduler, type Schedule } from './schedule.js';
export { clipGradNorm } from './clip.js';
export { decayGroups, type ParamGroupSpec } from './param-groups.js';
export { OptimizerStateError, type OptimizerStateDict, type OptimizerStateMeta } from './state-dict.js';
