// Models by Hugging Face Hub id, through the same cache as Python's huggingface_hub.
//
//   import { resolveModel } from '../hub/index.js';
//   const dir = await resolveModel('HuggingFaceTB/SmolLM2-135M');          // downloads once, then cached
//   const dir2 = await resolveModel('org/name@v1.0');                       // a branch, tag or commit
//   const { model } = await loadPretrained('HuggingFaceTB/SmolLM2-135M');   // the same, inside the loader

export { resolveModel, resolveModelFields, isModelKey, isHubId, parseHubRef, snapshotModel, snapshotFiles, cachedSnapshot, globToRegExp } from './resolve.js';
export type { ResolveOptions, HubSnapshot } from './resolve.js';
export { hubSettings, hfHome, RepoCache, DEFAULT_ENDPOINT, DEFAULT_REVISION } from './cache.js';
export type { HubSettings } from './cache.js';
export { HubError, HubAuthError, HubNotFoundError, HubOfflineError, HubFormatError, HubConnectionError } from './errors.js';
