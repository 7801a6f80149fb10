// The wasm facade under Node (`node --test web/tests/facade.test.mjs` after web/build.sh): its
// answers are consistent, a config.json goes through the same core as the catalog, and hostile
// input (garbage bytes, absurd numbers, wrong types) comes back as an Error, never a wasm trap;
// a calibration profile gives the numbers of `headroom fit --json --calibration`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { readFileSync, existsSync, rmSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { sameAnswer, closeNumbers } from './same-answer.mjs';
import { calibratedProfile } from './profile.mjs';

const require = createRequire(import.meta.url);
const core = require('../pkg-node/headroom_wasm.js');
const DATA = new URL('../../data/', import.meta.url);
const GIB = 1024 ** 3;
const BIN = process.env.HEADROOM_BIN || fileURLToPath(new URL('../../target/debug/headroom', import.meta.url));
const USE_CASES = ['chat', 'agent', 'summary', 'batch'];
const KINDS = ['usable', 'runs_but_slow', 'context_too_short', 'does_not_fit'];

const PARTS = ['weights', 'kv_cache', 'compute', 'output', 'overhead'];
const sum = (b) => PARTS.reduce((a, p) => a + b[p], 0);

/** Calls `f`; it must throw a JavaScript Error (not a wasm RuntimeError) whose message matches. */
function rejects(f, pattern, label) {
  let threw = null;
  try {
    f();
  } catch (e) {
    threw = e;
  }
  assert.ok(threw, `${label}: expected an error, got a result`);
  assert.ok(!(threw instanceof WebAssembly.RuntimeError), `${label}: the wasm trapped: ${threw}`);
  assert.ok(threw instanceof Error, `${label}: threw a non-Error ${threw}`);
  if (pattern) assert.match(threw.message, pattern, label);
}

const base = { model: 'qwen3-8b', hardware: ['rtx-3060-ti'] };

function deep(n) {
  let o = { memory_gib: 8, bandwidth_gbs: 100 };
  for (let i = 0; i < n; i++) o = { o };
  return o;
}

test('the catalog lists the embedded models and devices', () => {
  const c = core.catalog();
  assert.ok(c.models.length >= 30);
  assert.ok(c.hardware.length >= 60);
  assert.deepEqual(c.runtimes, ['llama.cpp', 'vllm', 'mlx', 'transformers']);
  assert.ok(c.quants.includes('Q4_K_M'));
  const q = c.models.find((m) => m.id === 'qwen3-8b');
  // data/models/qwen3-8b.json: num_hidden_layers 36, max_position_embeddings 40960
  assert.equal(q.n_layer, 36);
  assert.equal(q.n_ctx_train, 40960);
});

test('a fit is internally consistent', () => {
  const r = core.fit(base);
  // data/hardware/rtx-3060-ti.json: memory_gib 8
  assert.equal(r.usable_bytes, 8 * GIB);
  assert.equal(sum(r.breakdown), r.total_bytes);
  assert.equal(r.margin_bytes, r.usable_bytes - r.total_bytes);
  assert.equal(r.fits, r.total_bytes <= r.usable_bytes && r.devices.every((d) => d.fits));
  assert.equal(r.quant, 'Q4_K_M');
  assert.equal(r.runtime, 'llama.cpp');
  assert.equal(r.max_context_by_cache_type.length, 3);
  // a bigger context needs more memory, and the max context is the edge of what fits
  const at = (ctx) => core.fit({ ...base, ctx });
  assert.ok(at(16384).total_bytes > at(4096).total_bytes);
  assert.equal(at(r.max_context).fits, true);
  assert.equal(at(r.max_context + 256).fits, false);
});

test('the memory curve rises with context and shares the fit usable line', () => {
  const c = core.memoryCurve(base, 16);
  assert.equal(c.points.length, 16);
  assert.equal(c.usable_bytes, 8 * GIB);
  for (let i = 1; i < c.points.length; i++) {
    assert.ok(c.points[i].ctx > c.points[i - 1].ctx);
    assert.ok(c.points[i].total_bytes >= c.points[i - 1].total_bytes);
  }
  const last = c.points.at(-1);
  assert.equal(core.fit({ ...base, ctx: last.ctx }).total_bytes, last.total_bytes);
});

test('a config.json goes through the same core as the catalog entry it came from', () => {
  const rec = JSON.parse(readFileSync(new URL('models/qwen3-8b.json', DATA), 'utf8'));
  for (const runtime of ['llama.cpp', 'vllm', 'transformers']) {
    const fromId = core.fit({ ...base, hardware: ['rtx-4090'], runtime });
    const fromConfig = core.fit({ ...base, hardware: ['rtx-4090'], runtime, model: { config_json: JSON.stringify(rec.config) } });
    for (const k of ['total_bytes', 'usable_bytes', 'fits', 'max_context', 'n_ctx', 'breakdown']) {
      assert.deepEqual(fromConfig[k], fromId[k], `${runtime} ${k}`);
    }
  }
  const d = core.describeModel({ config_json: JSON.stringify(rec.config) });
  assert.equal(d.n_layer, 36);
});

test('custom hardware, several GPUs and each runtime answer', () => {
  const custom = core.fit({ model: 'qwen3-8b', custom_device: { memory_gib: 24, bandwidth_gbs: 900, fp16_tflops: 80 } });
  assert.equal(custom.usable_bytes, 24 * GIB);
  const two = core.fit({ model: 'llama-3.1-70b', hardware: ['rtx-3090'], gpus: 2 });
  assert.equal(two.devices.length, 2);
  assert.equal(two.usable_bytes, 2 * 24 * GIB);
  const mac = core.fit({ model: 'qwen3-8b', hardware: 'm4-pro', memory_gib: 48, runtime: 'mlx' });
  assert.equal(mac.runtime, 'mlx');
  const vllm = core.fit({ model: 'qwen3-8b', hardware: ['h100-sxm'], runtime: 'vllm' });
  assert.ok(vllm.kv_capacity.kv_tokens > 0);
});

/**
 * The speed object is whole: llama-bench's pp512/tg128 query at the context set (the rest of the
 * context already cached), each number inside its band, under the physical bound, a verdict per use case.
 */
function speedIsWhole(sp, label, nCtx) {
  assert.ok(sp, `${label}: no speed`);
  const { depth, ...query } = sp.query;
  assert.deepEqual(query, { prompt_tokens: 512, gen_tokens: 128, batch: 1 }, label);
  assert.ok(depth >= 0 && depth + 512 + 128 <= nCtx, `${label}: depth ${depth} at context ${nCtx}`);
  assert.ok(sp.decode_tok_s > 0 && Number.isFinite(sp.decode_tok_s), `${label}: decode ${sp.decode_tok_s}`);
  assert.ok(sp.decode_tok_s_low <= sp.decode_tok_s && sp.decode_tok_s <= sp.decode_tok_s_high, `${label}: decode band`);
  assert.ok(sp.decode_tok_s <= sp.decode_bound_tok_s * (1 + 1e-9), `${label}: decode over the bandwidth bound`);
  if (sp.prefill_tok_s !== null) {
    assert.ok(sp.prefill_tok_s_low <= sp.prefill_tok_s && sp.prefill_tok_s <= sp.prefill_tok_s_high, `${label}: prefill band`);
    assert.ok(sp.ttft_s_low <= sp.ttft_s && sp.ttft_s <= sp.ttft_s_high, `${label}: ttft band`);
    // the first token waits for the whole 512-token prompt
    assert.ok(sp.ttft_s >= 512 / sp.prefill_tok_s, `${label}: ttft shorter than the prompt`);
  }
  assert.ok(sp.load_s > 0 && Number.isFinite(sp.load_s), `${label}: load ${sp.load_s}`);
  assert.deepEqual(sp.verdicts.map((v) => v.use_case), USE_CASES, label);
  for (const v of sp.verdicts) assert.ok(KINDS.includes(v.verdict), `${label}: ${v.verdict}`);
}

test('the answer carries speed at llama-bench\'s default query, with bands and verdicts', () => {
  const r = core.fit(base);
  speedIsWhole(r.speed, 'qwen3-8b on rtx-3060-ti', r.n_ctx);
  // the default 4096-token context: 4096 - 512 - 128 = 3456 tokens cached before the prompt
  assert.equal(r.n_ctx, 4096);
  assert.equal(r.speed.query.depth, 3456);
  // evaluate, which the page calls, gives the same answer as fit
  assert.deepEqual(core.evaluate(base, 8).result, r);
  // a model with about nine times the weights generates more slowly on the same card
  const big = core.fit({ ...base, model: 'llama-3.1-70b', hardware: ['h100-sxm'] });
  const small = core.fit({ ...base, hardware: ['h100-sxm'] });
  assert.ok(big.speed.decode_tok_s < small.speed.decode_tok_s / 4, `${big.speed.decode_tok_s} vs ${small.speed.decode_tok_s}`);
  // a 70B model on an 8 GiB card does not fit: the speed says so
  const over = core.fit({ ...base, model: 'llama-3.1-70b' });
  assert.equal(over.fits, false);
  assert.ok(over.speed.warnings.some((w) => /do not fit/.test(w)), over.speed.warnings.join(' | '));
  for (const runtime of ['vllm', 'mlx', 'transformers']) {
    const hw = runtime === 'mlx' ? ['m4-max-40c'] : ['h100-sxm'];
    const a = core.fit({ ...base, hardware: hw, runtime });
    speedIsWhole(a.speed, runtime, a.n_ctx);
  }
});

test('the facade answers exactly as `headroom fit --json`, speed included', () => {
  assert.ok(existsSync(BIN), `${BIN} is missing: run cargo build -p headroom-cli`);
  const cases = [
    [base, ['--model', 'qwen3-8b', '--hardware', 'rtx-3060-ti']],
    [{ ...base, model: 'llama-3.3-70b', hardware: ['rtx-4090'], ram_gib: 64 }, ['--model', 'llama-3.3-70b', '--hardware', 'rtx-4090', '--ram', '64']],
    [{ ...base, hardware: ['h100-sxm'], runtime: 'vllm' }, ['--model', 'qwen3-8b', '--hardware', 'h100-sxm', '--runtime', 'vllm']],
    [{ ...base, model: 'qwen2.5-32b', hardware: 'm4-max-40c', memory_gib: 64, runtime: 'mlx' }, ['--model', 'qwen2.5-32b', '--hardware', 'm4-max-40c', '--memory', '64', '--runtime', 'mlx']],
  ];
  for (const [req, flags] of cases) {
    const want = JSON.parse(execFileSync(BIN, ['fit', '--json', ...flags], { encoding: 'utf8' }));
    sameAnswer(core.fit(req), want, flags.join(' '));
  }
});

test('the comparison with the CLI allows only the last bits of fractional numbers', () => {
  // a decode band's low end for qwen2.5-14b on an M4 Pro 48 GB: wasm, then the native CLI
  assert.ok(closeNumbers(11.106715443100327, 11.106715443100326));
  assert.ok(!closeNumbers(8 * GIB, 8 * GIB + 1));
  assert.ok(!closeNumbers(1.5, 1.5000001));
  assert.ok(!closeNumbers(null, 0));
  assert.throws(() => sameAnswer({ a: 1, speed: { b: 2.5 } }, { a: 1, speed: { b: 2.5000001 } }, 't'), /speed\.b/);
  assert.throws(() => sameAnswer({ a: 1 }, { a: 1, speed: {} }, 't'), /keys/);
});

const HOSTILE = [
  ['no request', () => core.fit(undefined), /request/],
  ['null', () => core.fit(null), /request/],
  ['a number', () => core.fit(42), /request/],
  ['a string', () => core.fit('qwen3-8b'), /request/],
  ['an array', () => core.fit([1, 2, 3]), /request/],
  ['no model', () => core.fit({ hardware: ['rtx-4090'] }), /model/],
  ['no hardware', () => core.fit({ model: 'qwen3-8b', hardware: [] }), /hardware/],
  ['a nested custom device field', () => core.fit({ model: 'qwen3-8b', custom_device: { memory_gib: 8, bandwidth_gbs: 100, colour: 'red' } }), /colour/],
  ['an object nested a thousand deep', () => core.fit({ ...base, custom_device: deep(1000) }), /deep/],
  ['a CPU profile with no memory size', () => core.fit({ ...base, hardware: ['ddr5-5600-2ch'] }), /memory/],
  ['unknown field', () => core.fit({ ...base, bogus: 1 }), /bogus/],
  ['unknown model', () => core.fit({ ...base, model: 'gpt-7' }), /unknown model/],
  ['a megabyte model name', () => core.fit({ ...base, model: 'x'.repeat(1 << 20) }), /model/],
  ['unknown hardware', () => core.fit({ ...base, hardware: ['rtx 9999'] }), /unknown hardware/],
  ['a thousand devices', () => core.fit({ ...base, hardware: Array(1000).fill('rtx-4090') }), /hardware/],
  ['a billion GPUs', () => core.fit({ ...base, gpus: 1e9 }), /gpus/],
  ['zero GPUs', () => core.fit({ ...base, gpus: 0 }), /gpus/],
  ['a trillion-token context', () => core.fit({ ...base, ctx: 1e12 }), /ctx/],
  ['a negative context', () => core.fit({ ...base, ctx: -1 }), /ctx/],
  ['a context past the core limit', () => core.fit({ ...base, ctx: 2 ** 25 }), /ctx/],
  ['a NaN context', () => core.fit({ ...base, ctx: NaN }), /finite/],
  ['an infinite context', () => core.fit({ ...base, ctx: Infinity }), /finite/],
  ['a fractional context', () => core.fit({ ...base, ctx: 4096.5 }), /ctx/],
  ['a string context', () => core.fit({ ...base, ctx: '4096' }), /ctx/],
  ['batch zero', () => core.fit({ ...base, batch: 0 }), /batch/],
  ['a million parallel sequences', () => core.fit({ ...base, parallel: 1e6 }), /parallel/],
  ['a million GPU layers', () => core.fit({ ...base, gpu_layers: 1e6 }), /gpu_layers/],
  ['negative RAM', () => core.fit({ ...base, ram_gib: -1 }), /ram_gib/],
  ['infinite memory', () => core.fit({ model: 'qwen3-8b', custom_device: { memory_gib: Infinity, bandwidth_gbs: 100 } }), /finite/],
  ['1e300 GiB', () => core.fit({ model: 'qwen3-8b', custom_device: { memory_gib: 1e300, bandwidth_gbs: 100 } }), /memory_gib/],
  ['1e300 GiB of RAM override', () => core.fit({ ...base, memory_gib: 1e300 }), /memory_gib/],
  ['negative memory', () => core.fit({ model: 'qwen3-8b', custom_device: { memory_gib: -8, bandwidth_gbs: 100 } }), /memory_gib/],
  ['zero bandwidth', () => core.fit({ model: 'qwen3-8b', custom_device: { memory_gib: 8, bandwidth_gbs: 0 } }), /bandwidth_gbs/],
  ['NaN TFLOPS', () => core.fit({ model: 'qwen3-8b', custom_device: { memory_gib: 8, bandwidth_gbs: 100, fp16_tflops: NaN } }), /finite/],
  ['unknown runtime', () => core.fit({ ...base, runtime: 'tensorrt' }), /runtime/],
  ['unknown quant', () => core.fit({ ...base, quant: 'q99_k' }), /quant/],
  ['a vLLM GPU share of 5', () => core.fit({ ...base, runtime: 'vllm', gpu_memory_utilization: 5 }), /gpu_memory_utilization/],
  ['a 300-bit MLX cache', () => core.fit({ ...base, runtime: 'mlx', hardware: ['m4-max-40c'], kv_bits: 300 }), /kv_bits/],
  ['a 1-bit KV cache', () => core.fit({ ...base, cache_type_k: 'q1_0' }), /cache_type_k/],
  ['a config that is not JSON', () => core.fit({ ...base, model: { config_json: 'not json {' } }), /config/],
  ['a config that is an array', () => core.fit({ ...base, model: { config_json: '[]' } }), /config|object/],
  ['a config with a billion layers', () => core.fit({ ...base, model: { config_json: JSON.stringify({ model_type: 'llama', num_hidden_layers: 1e9, hidden_size: 4096, num_attention_heads: 32, intermediate_size: 11008, vocab_size: 32000, max_position_embeddings: 4096 }) } }), /layer/],
  ['a 5 MiB config', () => core.fit({ ...base, model: { config_json: ' '.repeat(5 << 20) } }), /config/],
  ['a file model with no tensors', () => core.fit({ ...base, model: { spec: SPEC, weights: [], quant: 'Q4_K_M' } }), /weights/],
  ['a tensor past the last layer', () => core.fit({ ...base, model: { spec: SPEC, weights: [{ ...TENSOR, layer: 99 }], quant: 'Q4_K_M' } }), /layer/],
  ['an exabyte tensor', () => core.fit({ ...base, model: { spec: SPEC, weights: [{ ...TENSOR, bytes: 2 ** 62 }], quant: 'Q4_K_M' } }), /large|model/],
  ['a spec with zero heads', () => core.fit({ ...base, model: { spec: { ...SPEC, n_head: 0 }, weights: [TENSOR], quant: 'Q4_K_M' } }), /n_head/],
  ['curve with no points', () => core.memoryCurve(base, 0), /points/],
  ['curve with a million points', () => core.memoryCurve(base, 1e6), /points/],
  ['describing a number', () => core.describeModel(123), /model/],
];

// A small but valid model spec, by the core's field names (crates/headroom-core/src/model.rs).
const SPEC = {
  name: 'tiny', arch: 'llama', n_layer: 2, n_embd: 64, n_head: 4, n_head_kv: 2, head_dim_k: 16, head_dim_v: 16,
  n_ff: 128, n_vocab: 256, tied_embeddings: false, n_ctx_train: 2048, attn_bias: false, qk_norm: false,
  sliding_window: null, mla: null, moe: null, native_dtype: 'f16',
};
const TENSOR = { name: 'blk.0.attn_q.weight', layer: 0, role: 'attn', n_elements: 4096, bytes: 8192 };

for (const [label, f, pattern] of HOSTILE) {
  test(`hostile input comes back as an error: ${label}`, () => rejects(f, pattern, label));
}

test('a valid file model is accepted, so the hostile cases fail for their own reason', () => {
  const r = core.fit({ ...base, model: { spec: SPEC, weights: [TENSOR], quant: 'Q4_K_M' } });
  assert.equal(r.breakdown.weights >= 8192, true);
});

test('a GGUF header is read, a bit at a time when the prefix is short', () => {
  // tests/fixtures/formats/README.md: a 2-layer llama, 256 wide, 4 heads of 64, 2 kv heads, FFN 512,
  // general.file_type Q4_K_M
  const bytes = new Uint8Array(readFileSync(new URL('../../tests/fixtures/formats/tiny-llama-q4_k_m.gguf', import.meta.url)));
  const first = core.read_gguf(bytes.subarray(0, 64));
  assert.equal(first.model, undefined);
  assert.ok(first.need_bytes > 64);
  let len = 64;
  let got = first;
  while (!got.model) {
    assert.ok(got.need_bytes > len && got.need_bytes <= bytes.length, `asked for ${got.need_bytes}`);
    len = got.need_bytes;
    got = core.read_gguf(bytes.subarray(0, len));
  }
  const { spec, weights, quant } = got.model;
  assert.equal(spec.n_layer, 2);
  assert.equal(spec.n_embd, 256);
  assert.equal(spec.n_head, 4);
  assert.equal(spec.n_head_kv, 2);
  assert.equal(spec.head_dim_k, 64);
  assert.equal(spec.n_ff, 512);
  assert.equal(quant, 'Q4_K_M');
  assert.ok(weights.length > 0);
  // the read model goes back into a request as it came out
  const r = core.fit({ ...base, model: got.model });
  assert.equal(r.quant, 'Q4_K_M');
  assert.equal(sum(r.breakdown), r.total_bytes);
  assert.equal(core.describeModel(got.model).n_layer, 2);
});

test('garbage bytes as GGUF come back as errors', () => {
  const inputs = [
    new Uint8Array(0),
    new Uint8Array([1, 2, 3]),
    new TextEncoder().encode('not a gguf file at all'),
    // magic, version 3, then a tensor count of 2^63
    Uint8Array.from([0x47, 0x47, 0x55, 0x46, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x80, 0, 0, 0, 0, 0, 0, 0, 0]),
    // magic, version 3, no tensors, 2^40 metadata pairs
    Uint8Array.from([0x47, 0x47, 0x55, 0x46, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0]),
  ];
  let seed = 7;
  const rnd = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  for (let i = 0; i < 200; i++) {
    const b = new Uint8Array(Math.floor(rnd() * 4096));
    for (let j = 0; j < b.length; j++) b[j] = Math.floor(rnd() * 256);
    if (i % 2 === 0 && b.length >= 8) b.set([0x47, 0x47, 0x55, 0x46, 3, 0, 0, 0]);
    inputs.push(b);
  }
  for (const [i, b] of inputs.entries()) {
    let got;
    try {
      got = core.read_gguf(b);
    } catch (e) {
      assert.ok(!(e instanceof WebAssembly.RuntimeError), `input ${i}: the wasm trapped: ${e}`);
      assert.ok(e instanceof Error);
      continue;
    }
    // a prefix that stops inside a plausible header asks for more bytes, bounded
    assert.ok(got.need_bytes > b.length, `input ${i}: ${JSON.stringify(got).slice(0, 200)}`);
  }
});

test('random requests never trap the wasm', () => {
  const c = core.catalog();
  let seed = 12345;
  const rnd = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const pick = (xs) => xs[Math.floor(rnd() * xs.length)];
  const wild = [0, 1, -1, 0.5, 255, 256, 65535, 2 ** 24, 2 ** 24 + 1, 2 ** 31, 2 ** 32, 2 ** 53, 1e308, NaN, Infinity, '7', null];
  for (let i = 0; i < 400; i++) {
    const r = {
      model: rnd() < 0.9 ? pick(c.models).id : pick(['', ' ', 'qwen', '../../etc']),
      hardware: rnd() < 0.9 ? [pick(c.hardware).id] : [pick(c.hardware).id, pick(c.hardware).id],
      runtime: pick(c.runtimes),
    };
    for (const k of ['ctx', 'batch', 'ubatch', 'gpus', 'gpu_layers', 'parallel', 'ram_gib']) {
      if (rnd() < 0.3) r[k] = rnd() < 0.5 ? pick(wild) : Math.floor(rnd() * 200000);
    }
    if (rnd() < 0.3) r.quant = pick(c.quants);
    if (rnd() < 0.2) r.cache_type_k = pick(c.cache_types);
    if (rnd() < 0.2) r.flash_attn = rnd() < 0.5;
    try {
      const out = core.fit(r);
      assert.equal(sum(out.breakdown), out.total_bytes, JSON.stringify(r));
      assert.ok(Number.isFinite(out.margin_bytes));
      if (out.speed === null) {
        // no speed only when the settings do not fit and no offload does either
        assert.equal(out.fits, false, JSON.stringify(r));
      } else {
        assert.deepEqual(out.speed.verdicts.map((v) => v.use_case), USE_CASES, JSON.stringify(r));
        assert.ok(!(out.speed.decode_tok_s < 0), JSON.stringify(r));
      }
    } catch (e) {
      assert.ok(!(e instanceof WebAssembly.RuntimeError), `${JSON.stringify(r)}: the wasm trapped: ${e.stack}`);
      assert.ok(e instanceof Error && e.message.length > 0, JSON.stringify(r));
    }
  }
  // and the module still answers afterwards
  assert.equal(core.fit(base).usable_bytes, 8 * GIB);
});

test('a calibration profile gives the numbers of `headroom fit --json --calibration`; another device\'s or garbage is an error', () => {
  assert.ok(existsSync(BIN), `${BIN} is missing: run cargo build -p headroom-cli`);
  const { dir, path, text } = calibratedProfile(BIN);
  try {
    const cases = [
      [{ model: 'llama-3-8b', hardware: ['rtx-3090'] }, ['--model', 'llama-3-8b', '--hardware', 'rtx-3090']],
      [{ model: 'qwen3-8b', hardware: 'rtx-3090', ctx: 32768 }, ['--model', 'qwen3-8b', '--hardware', 'rtx-3090', '--ctx', '32768']],
      [{ model: 'llama-3.3-70b', hardware: ['rtx-3090'], ram_gib: 64 }, ['--model', 'llama-3.3-70b', '--hardware', 'rtx-3090', '--ram', '64']],
    ];
    for (const [req, flags] of cases) {
      const label = `${flags.join(' ')} --calibration`;
      const want = JSON.parse(execFileSync(BIN, ['fit', '--json', ...flags, '--calibration', path], { encoding: 'utf8' }));
      const got = core.fit({ ...req, calibration: text });
      sameAnswer(got, want, label);
      // the profile as a parsed object, and through evaluate, gives the same answer
      sameAnswer(core.fit({ ...req, calibration: JSON.parse(text) }), want, `${label} (object)`);
      sameAnswer(core.evaluate({ ...req, calibration: text }, 8).result, want, `${label} (evaluate)`);
      assert.ok(got.speed.warnings.includes('calibration profile applied: fitted on rtx-3090 with llama.cpp; speed'), label);
      // the profile changes the speed: the shipped answer has other numbers and no such line
      const shipped = core.fit(req);
      assert.notEqual(shipped.speed.decode_tok_s, got.speed.decode_tok_s, label);
      assert.ok(!shipped.speed.warnings.some((w) => w.includes('calibration profile')), label);
    }
    const other = { model: 'llama-3-8b', hardware: ['rtx-4090'], calibration: text };
    const naming = /the calibration profile is for rtx-3090 with llama\.cpp, not rtx-4090 with llama\.cpp/;
    rejects(() => core.fit(other), naming, 'another device');
    rejects(() => core.evaluate(other, 8), naming, 'another device (evaluate)');
    rejects(() => core.memoryCurve(other, 8), naming, 'another device (memoryCurve)');
    rejects(() => core.fit({ model: 'llama-3-8b', hardware: ['rtx-3090'], runtime: 'vllm', calibration: text }), /not rtx-3090 with vllm/, 'another runtime');
    const bad = [
      [text.slice(0, text.length / 3), /^calibration: not a calibration profile/, 'truncated'],
      ['{not json', /^calibration: not a calibration profile/, 'not JSON'],
      ['\u0000\u00ff\ud7ff garbage', /^calibration: not a calibration profile/, 'garbage text'],
      [42, /^calibration: expected a profile's JSON text or object/, 'a number'],
      [[1, 2], /^calibration: expected/, 'an array'],
      [{ schema: 2 }, /profile schema 2 is not 1/, 'another schema'],
      [' '.repeat(4 * 1024 * 1024 + 1), /larger than 4 MiB/, 'oversized'],
    ];
    for (const [calibration, pattern, label] of bad) {
      rejects(() => core.fit({ model: 'llama-3-8b', hardware: ['rtx-3090'], calibration }), pattern, label);
    }
  } finally {
    rmSync(dir, { recursive: true });
  }
});
