// Headroom's core in the browser: loads the wasm facade once, and the pieces the calculator shares
// (state <-> URL parameters, requests, number formatting). No formulas live here.

let ready = null;
let instances = 0;

/**
 * Loads the wasm; resolves to the facade's functions. `fresh` loads a new instance, for when the
 * old one trapped (a wasm trap leaves an instance unusable; the facade is built not to trap, and
 * this keeps the page alive if it ever does).
 */
export function loadCore(fresh = false) {
  if (!ready || fresh) {
    instances += 1;
    const wasm = new URL('./pkg/headroom_wasm_bg.wasm', import.meta.url);
    const js = fresh ? import(`./pkg/headroom_wasm.js?instance=${instances}`) : import('./pkg/headroom_wasm.js');
    ready = js.then(async (m) => {
      await m.default({ module_or_path: wasm });
      return m;
    });
  }
  return ready;
}

/**
 * The calculator's state, by the names of `headroom fit`'s flags. The same names serve as URL
 * parameters (for links and iframes) and as attributes of <headroom-calculator>.
 */
export const FIELDS = [
  'model', 'hardware', 'gpus', 'memory', 'ram', 'runtime', 'quant', 'ctx', 'cache-type-k', 'cache-type-v',
  'flash-attn', 'batch', 'ubatch', 'gpu-layers', 'parallel', 'n-cpu-moe',
  'kv-cache-dtype', 'gpu-memory-utilization', 'tensor-parallel', 'max-num-seqs', 'kv-bits', 'attention',
  'custom-memory', 'custom-bandwidth', 'custom-tflops', 'custom-kind',
];

/** State fields that are numbers, and the request field each becomes. */
const NUMBERS = {
  gpus: 'gpus', memory: 'memory_gib', ram: 'ram_gib', ctx: 'ctx', batch: 'batch', ubatch: 'ubatch',
  'gpu-layers': 'gpu_layers', parallel: 'parallel', 'n-cpu-moe': 'n_cpu_moe',
  'gpu-memory-utilization': 'gpu_memory_utilization', 'tensor-parallel': 'tensor_parallel',
  'max-num-seqs': 'max_num_seqs', 'kv-bits': 'kv_bits',
};
/** State fields that are names, passed as they are. */
const NAMES = {
  runtime: 'runtime', quant: 'quant', 'cache-type-k': 'cache_type_k', 'cache-type-v': 'cache_type_v',
  'kv-cache-dtype': 'kv_cache_dtype', attention: 'attention',
};

export const DEFAULTS = { model: 'qwen3-8b', hardware: 'rtx-3060-ti' };

/** State from URL search parameters (unknown names are ignored). */
export function stateFromParams(params) {
  const s = {};
  for (const f of FIELDS) {
    const v = params.get(f);
    if (v !== null && v !== '') s[f] = v;
  }
  return s;
}

/** URL search parameters from state, leaving out empty fields. */
export function paramsFromState(state) {
  const p = new URLSearchParams();
  for (const f of FIELDS) {
    const v = state[f];
    if (v !== undefined && v !== null && v !== '') p.set(f, String(v));
  }
  return p;
}

function num(state, key) {
  const v = state[key];
  if (v === undefined || v === null || v === '') return undefined;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new Error(`${key}: \`${v}\` is not a number`);
  return n;
}

/**
 * The facade request for a state. `file` is a model read from a dropped file (GGUF or
 * config.json), which replaces the catalog model.
 */
export function requestFromState(state, file) {
  const r = { model: file || state.model || DEFAULTS.model };
  const hw = (state.hardware || DEFAULTS.hardware).trim();
  if (hw === 'custom') {
    const c = {
      memory_gib: num(state, 'custom-memory') ?? 24,
      bandwidth_gbs: num(state, 'custom-bandwidth') ?? 1000,
    };
    const tf = num(state, 'custom-tflops');
    if (tf !== undefined) c.fp16_tflops = tf;
    if (state['custom-kind']) c.kind = state['custom-kind'];
    r.custom_device = c;
  } else {
    r.hardware = hw.split(',').map((h) => h.trim()).filter(Boolean);
  }
  for (const [k, key] of Object.entries(NUMBERS)) {
    const v = num(state, k);
    if (v !== undefined) r[key] = v;
  }
  for (const [k, key] of Object.entries(NAMES)) {
    if (state[k]) r[key] = state[k];
  }
  // a model read from a GGUF file keeps the file's own quantization
  if (file && file.spec) delete r.quant;
  if (state['flash-attn']) r.flash_attn = state['flash-attn'] === 'on';
  return r;
}

const GIB = 1024 ** 3;

/** Bytes as GiB with two decimals, the way the calculator shows every size. */
export function gib(bytes) {
  return `${(bytes / GIB).toFixed(2)} GiB`;
}

/** A file size in the largest unit that keeps it at least 1. */
export function size(bytes) {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = bytes;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i += 1;
  }
  return i === 0 ? `${v} bytes` : `${v.toFixed(1)} ${units[i]}`;
}

/** A signed margin in GiB. */
export function signedGib(bytes) {
  return `${bytes >= 0 ? '+' : '−'}${(Math.abs(bytes) / GIB).toFixed(2)} GiB`;
}

/** A token count with thousands separators, or "none" when nothing fits. */
const COUNT = new Intl.NumberFormat('en-US');
export function tokens(n) {
  return n === null || n === undefined ? 'none' : COUNT.format(n);
}

/** Parameters as "8.19B". */
export function params(n) {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)}B`;
  return `${(n / 1e6).toFixed(0)}M`;
}

/** The largest prefix of a GGUF file read to find its header. */
export const MAX_GGUF_HEADER_BYTES = 128 * 1024 * 1024;
/** config.json files are a few KiB; the core refuses anything past 4 MiB. */
export const MAX_CONFIG_BYTES = 4 * 1024 * 1024;

/**
 * Reads a dropped model file without loading it whole: a GGUF file's header through Blob.slice,
 * growing the slice only as far as the header says it needs (bounded), or a config.json's text.
 * Resolves to a model input for the facade and a label.
 */
export async function readModelFile(c, file) {
  const name = file.name || 'model';
  if (/\.gguf$/i.test(name)) {
    let len = Math.min(file.size, 1024 * 1024);
    for (;;) {
      const bytes = new Uint8Array(await file.slice(0, len).arrayBuffer());
      const got = c.read_gguf(bytes);
      if (got.model) return { model: got.model, label: name, bytesRead: len };
      const need = got.need_bytes;
      if (!(need > len) || need > MAX_GGUF_HEADER_BYTES || len >= file.size) {
        throw new Error(`${name}: the GGUF header is larger than ${MAX_GGUF_HEADER_BYTES} bytes or the file is cut short`);
      }
      len = Math.min(file.size, Math.max(need, len * 2));
    }
  }
  if (file.size > MAX_CONFIG_BYTES) {
    throw new Error(`${name}: ${file.size} bytes is too large for a config.json`);
  }
  const text = await file.slice(0, MAX_CONFIG_BYTES).text();
  return { model: { config_json: text }, label: name, bytesRead: file.size };
}

/** A calibration profile larger than this is refused, as the CLI refuses it (MAX_PROFILE_BYTES). */
export const MAX_PROFILE_BYTES = 4 * 1024 * 1024;

/** A calibration profile file's text, for a request's `calibration` (the core checks it). */
export async function readProfileFile(file) {
  const name = file.name || 'profile.json';
  if (file.size > MAX_PROFILE_BYTES) {
    throw new Error(`${name}: larger than 4 MiB, not a calibration profile`);
  }
  const text = await file.slice(0, MAX_PROFILE_BYTES).text();
  return { text, label: name, bytes: file.size };
}
