// Errors of the Hub layer. Each names the model id (and the file, when one is to blame) and says what
// to do: set HF_TOKEN, accept a licence, fetch while online, convert the weights, check HF_ENDPOINT.

/** A Hub model could not be resolved or fetched; the message names the id and the fix. */
export class HubError extends Error {
  override name = 'HubError';
  /** The model id, e.g. `HuggingFaceTB/SmolLM2-135M`. */
  readonly repoId: string;
  constructor(repoId: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.repoId = repoId;
  }
}

/** 401/403: a gated or private model, or a token that is missing, invalid or without access. */
export class HubAuthError extends HubError {
  override name = 'HubAuthError';
}

/** 404: no such model, revision or file. */
export class HubNotFoundError extends HubError {
  override name = 'HubNotFoundError';
}

/** HF_HUB_OFFLINE=1 (or no connection) and the model is not (completely) in the cache. */
export class HubOfflineError extends HubError {
  override name = 'HubOfflineError';
}

/** The repository exists but holds nothing rlhf can load (e.g. only pytorch_model.bin). */
export class HubFormatError extends HubError {
  override name = 'HubFormatError';
}

/** The Hub could not be reached (no network, DNS, timeout, 5xx) and the cache cannot stand in. */
export class HubConnectionError extends HubError {
  override name = 'HubConnectionError';
}
