// @ts-check
// The calculator's state: a flat map of `headroom fit` and `headroom check` flag names to strings,
// the same names as URL parameters and as attributes of <headroom-calculator>; and the facade
// requests made from it. Pure; the request types are the facade's (web/pkg/headroom_wasm.d.ts,
// generated from the Rust crate and checked against its types), which `tsc --noEmit` holds this
// file to.

/** @typedef {import('./pkg/headroom_wasm.js').FitRequest} FitRequest */
/** @typedef {import('./pkg/headroom_wasm.js').CheckClaims} CheckClaims */
/** @typedef {import('./pkg/headroom_wasm.js').CustomDevice} CustomDevice */
/** @typedef {Record<string, string>} State */

/** The setting: the flags of `headroom fit`. */
export const FIT_FIELDS = [
  'model', 'hardware', 'gpus', 'memory', 'ram', 'runtime', 'quant', 'ctx', 'cache-type-k', 'cache-type-v',
  'flash-attn', 'batch', 'ubatch', 'gpu-layers', 'parallel', 'n-cpu-moe',
  'kv-cache-dtype', 'gpu-memory-utilization', 'tensor-parallel', 'max-num-seqs', 'kv-bits', 'attention',
  'custom-memory', 'custom-bandwidth', 'custom-tflops', 'custom-kind', 'backend', 'os',
];

/**
 * What was claimed or seen: the flags of `headroom check`. The operating system (`os`) is a
 * setting of the run, as `--os` is for `fit` and `check` alike.
 */
export const CHECK_FIELDS = ['tok-s', 'prompt-tok-s', 'ttft', 'vram-gb', 'fits'];

/** Every state field: URL parameters and element attributes. */
export const FIELDS = [...FIT_FIELDS, ...CHECK_FIELDS];

/**
 * State fields that are numbers, and the request field each becomes.
 * @type {Record<string, keyof FitRequest>}
 */
const NUMBERS = {
  gpus: 'gpus', memory: 'memory_gib', ram: 'ram_gib', ctx: 'ctx', batch: 'batch', ubatch: 'ubatch',
  'gpu-layers': 'gpu_layers', parallel: 'parallel', 'n-cpu-moe': 'n_cpu_moe',
  'gpu-memory-utilization': 'gpu_memory_utilization', 'tensor-parallel': 'tensor_parallel',
  'max-num-seqs': 'max_num_seqs', 'kv-bits': 'kv_bits',
};
/**
 * State fields that are names, passed as they are.
 * @type {Record<string, keyof FitRequest>}
 */
const NAMES = {
  runtime: 'runtime', quant: 'quant', 'cache-type-k': 'cache_type_k', 'cache-type-v': 'cache_type_v',
  'kv-cache-dtype': 'kv_cache_dtype', attention: 'attention',
};
/** Names the facade takes from a fixed list, checked here so tsc holds them to its types. */
const OS = /** @type {const} */ (['linux', 'windows', 'wsl2', 'macos']);
const BACKENDS = /** @type {const} */ (['cuda', 'vulkan', 'rocm', 'metal', 'sycl', 'cpu']);
/**
 * Claimed numbers, and the claim field each becomes.
 * @type {Record<string, keyof CheckClaims>}
 */
const CLAIM_NUMBERS = { 'tok-s': 'tok_s', 'prompt-tok-s': 'prompt_tok_s', ttft: 'ttft', 'vram-gb': 'vram_gb' };

export const DEFAULTS = Object.freeze({ model: 'qwen3-8b', hardware: 'rtx-3060-ti' });

/** State from URL search parameters (unknown names are ignored). */
export function stateFromParams(/** @type {URLSearchParams} */ params) {
  /** @type {State} */
  const s = {};
  for (const f of FIELDS) {
    const v = params.get(f);
    if (v !== null && v !== '') s[f] = v;
  }
  return s;
}

/** URL search parameters from state, leaving out empty fields. */
export function paramsFromState(/** @type {State} */ state) {
  const p = new URLSearchParams();
  for (const f of FIELDS) {
    const v = state[f];
    if (v !== undefined && v !== null && v !== '') p.set(f, String(v));
  }
  return p;
}

/** State with one field set (an empty value removes it); the state itself is not changed. */
export function withField(/** @type {State} */ state, /** @type {string} */ name, /** @type {string | null} */ value) {
  const s = { ...state };
  if (value === null || value === '') delete s[name];
  else s[name] = value;
  return s;
}

/** @returns {number | undefined} */
function num(/** @type {State} */ state, /** @type {string} */ key) {
  const v = state[key];
  if (v === undefined || v === null || v === '') return undefined;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new Error(`${key}: \`${v}\` is not a number`);
  return n;
}

/**
 * The facade request for a state. `file` is a model read from a dropped file (GGUF or
 * config.json), which replaces the catalog model.
 * @param {State} state
 * @param {FitRequest['model'] | null} [file]
 * @returns {FitRequest}
 */
export function requestFromState(state, file) {
  /** @type {FitRequest} */
  const r = { model: file || state.model || DEFAULTS.model };
  const hw = (state.hardware || DEFAULTS.hardware).trim();
  if (hw === 'custom') {
    /** @type {CustomDevice} */
    const c = {
      memory_gib: num(state, 'custom-memory') ?? 24,
      bandwidth_gbs: num(state, 'custom-bandwidth') ?? 1000,
    };
    const tf = num(state, 'custom-tflops');
    if (tf !== undefined) c.fp16_tflops = tf;
    const kind = state['custom-kind'];
    if (kind === 'gpu' || kind === 'unified' || kind === 'cpu') c.kind = kind;
    else if (kind) throw new Error(`custom-kind: \`${kind}\` is not gpu, unified or cpu`);
    r.custom_device = c;
  } else {
    r.hardware = hw.split(',').map((h) => h.trim()).filter(Boolean);
  }
  /** @type {Record<string, unknown>} */
  const out = /** @type {Record<string, unknown>} */ (/** @type {unknown} */ (r));
  for (const [k, key] of Object.entries(NUMBERS)) {
    const v = num(state, k);
    if (v !== undefined) out[key] = v;
  }
  for (const [k, key] of Object.entries(NAMES)) {
    if (state[k]) out[key] = state[k];
  }
  // a model read from a GGUF file keeps the file's own quantization
  if (file && typeof file === 'object' && 'gguf' in file) delete r.quant;
  if (state['flash-attn']) r.flash_attn = state['flash-attn'] === 'on';
  const os = OS.find((o) => o === state.os);
  if (os) r.os = os;
  else if (state.os) throw new Error(`os: \`${state.os}\` is not ${OS.join(', ')}`);
  const backend = BACKENDS.find((b) => b === state.backend);
  if (backend) r.backend = backend;
  else if (state.backend) throw new Error(`backend: \`${state.backend}\` is not ${BACKENDS.join(', ')}`);
  return r;
}

/**
 * The claims of the "check a number" panel, as `headroom check`'s flags give them, or null when
 * nothing is claimed (then nothing is checked).
 * @param {State} state
 * @returns {CheckClaims | null}
 */
export function claimsFromState(state) {
  /** @type {CheckClaims} */
  const c = {};
  let any = false;
  for (const [k, key] of Object.entries(CLAIM_NUMBERS)) {
    const v = num(state, k);
    if (v !== undefined) {
      /** @type {Record<string, unknown>} */ (c)[key] = v;
      any = true;
    }
  }
  const fits = state.fits;
  if (fits === 'yes' || fits === 'no') {
    c.fits = fits === 'yes';
    any = true;
  } else if (fits) {
    throw new Error(`fits: \`${fits}\` is not yes or no`);
  }
  return any ? c : null;
}
