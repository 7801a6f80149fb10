// The page's parts under Node, with no browser: the view functions (view.js, chart.js), the state
// and requests (state.js) and the frame scheduler (schedule.js). Expected texts are worked out by
// hand from the inputs written here; the answers the facade gives are in facade.test.mjs and the
// browser test.
//   node --test web/tests/view.test.mjs
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as view from '../view.js';
import { chart, niceStep } from '../chart.js';
import { gib, signedGib, tokens, params, size, fixed } from '../format.js';
import { FIELDS, stateFromParams, paramsFromState, requestFromState, claimsFromState, withField } from '../state.js';
import { FrameScheduler } from '../schedule.js';

const GIB = 1024 ** 3;

/** The text of a view node, as the DOM's textContent would be. */
function text(n) {
  return typeof n === 'string' ? n : n.children.map(text).join('');
}
/** Every node in a tree with this data-field. */
function find(nodes, field) {
  const out = [];
  const walk = (n) => {
    if (typeof n === 'string') return;
    if (n.attrs['data-field'] === field) out.push(n);
    n.children.forEach(walk);
  };
  [].concat(nodes).forEach(walk);
  return out;
}

const zero = { weights: 0, kv_cache: 0, compute: 0, output: 0, overhead: 0 };
/** A fit answer with round numbers: 20 GiB needed of 24 GiB usable. */
const answer = {
  model: 'Qwen3-8B', quant: 'Q4_K_M', runtime: 'llama.cpp', n_ctx: 8192, fits: true,
  total_bytes: 20 * GIB, usable_bytes: 24 * GIB, margin_bytes: 4 * GIB,
  breakdown: { weights: 16 * GIB, kv_cache: 2 * GIB, compute: GIB, output: GIB / 2, overhead: GIB / 2 },
  host_breakdown: zero, devices: [{ id: 'a', name: 'A', usable_bytes: 24 * GIB, total_bytes: 20 * GIB, breakdown: zero, fits: true }],
  gpu_layers: null, kv_capacity: null, warnings: ['one warning'], max_context: 40960,
  max_context_by_cache_type: [{ cache_type: 'q8_0', flash_attn: true, max_context: 65536 }], offload: null, speed: null,
};

test('numbers are written the calculator\'s way', () => {
  assert.equal(gib(1.5 * GIB), '1.50 GiB');
  assert.equal(signedGib(-0.25 * GIB), '−0.25 GiB');
  assert.equal(signedGib(0), '+0.00 GiB');
  assert.equal(tokens(131072), '131,072');
  assert.equal(tokens(null), 'none');
  assert.equal(params(8.19e9), '8.19B');
  assert.equal(params(600e6), '600M');
  assert.equal(size(1536), '1.5 KiB');
  assert.equal(size(100), '100 bytes');
  assert.equal(fixed(null, 1, ' s'), '–');
  assert.equal(fixed(2.345, 2, ' s'), '2.35 s');
});

test('the fit fields say fits, the sizes in GiB and the contexts', () => {
  const f = Object.fromEntries(view.fitFields(answer).map((x) => [x.field, x]));
  assert.equal(f.fits.text, 'Fits: Qwen3-8B Q4_K_M on llama.cpp');
  assert.equal(f.total_bytes.text, '20.00 GiB');
  assert.equal(f.total_bytes.value, 20 * GIB);
  assert.equal(f.margin_bytes.text, '+4.00 GiB');
  assert.equal(f.max_context.text, '40,960');
  // nothing in system RAM, no offload, no vLLM pool: hidden
  assert.equal(f.host_total.hidden, true);
  assert.equal(f.offload.hidden, true);
  assert.equal(f['kv_capacity.kv_tokens'].hidden, true);
  const off = view.fitFields({ ...answer, fits: false, offload: { gpu_layers: 20, total_layers: 36, n_cpu_moe: null, host_bytes: 6 * GIB, host_fits: false } });
  const o = off.find((x) => x.field === 'offload');
  assert.equal(o.text, 'To fit the GPU: -ngl 20 (20 of 36 layers on the GPU), leaving 6.00 GiB in system RAM, more than it has.');
  assert.equal(off[0].text, 'Does not fit: Qwen3-8B Q4_K_M on llama.cpp');
});

test('the bar is scaled to the larger of need and usable, and the legend names each part', () => {
  const segs = view.bar(answer);
  // 16 GiB of weights in a 24 GiB scale: 66.67%; the usable mark at 100%
  assert.equal(segs.length, 6);
  assert.equal(Number.parseFloat(segs[0].style.width).toFixed(2), '66.67');
  assert.equal(segs[5].style.left, '100%');
  const legend = view.legend(answer);
  assert.deepEqual(legend.map(text), ['Weights 16.00 GiB', 'KV cache 2.00 GiB', 'Compute buffers 1.00 GiB', 'Output 0.50 GiB', 'Runtime overhead 0.50 GiB']);
  assert.equal(find(legend, 'breakdown.kv_cache')[0].attrs['data-value'], String(2 * GIB));
  assert.deepEqual(view.cacheTypeRows(answer).map(text), ['q8_0 + flash attention65,536']);
});

test('no speed when nothing fits, and a band in brackets when there is one', () => {
  const none = view.speedFields(null);
  assert.equal(none.find((f) => f.field === 'speed.query').text, 'none: these settings do not fit');
  assert.ok(none.filter((f) => f.field !== 'speed.query').every((f) => f.text === '–' && f.value === null));
  assert.deepEqual(view.speedWarnings(null).map(text), ['These settings do not fit, and no offload fits either: no speed.']);
  const sp = {
    query: { prompt_tokens: 512, gen_tokens: 128, depth: 0, batch: 1 },
    prefill_tok_s: 1234.4, prefill_tok_s_low: 1000.2, prefill_tok_s_high: 1500.6,
    decode_tok_s: 42.26, decode_tok_s_low: 38.04, decode_tok_s_high: 46.95,
    ttft_s: 0.415, ttft_s_low: 0.341, ttft_s_high: 0.512, load_s: 3.25, joules_per_token: null, tokens_per_joule: null,
    verdicts: [{ use_case: 'chat', verdict: 'runs_but_slow', decode_tok_s: 9.5, prefill_tok_s: null, ttft_s: 12.25, reasons: ['a', 'b'], suggestions: [], gpu_layers: null }],
    calibration: [], warnings: [],
  };
  const f = Object.fromEntries(view.speedFields(sp).map((x) => [x.field, x]));
  assert.equal(f['speed.query'].text, 'a 512-token prompt, then 128 tokens generated');
  assert.equal(f['speed.decode_tok_s'].text + f['speed.decode_tok_s'].small, '42.3 (38.0–47.0)');
  assert.equal(f['speed.prefill_tok_s'].text + f['speed.prefill_tok_s'].small, '1234 (1000–1501)');
  assert.equal(f['speed.ttft_s'].text + f['speed.ttft_s'].small, '0.41 s (0.34–0.51 s)');
  assert.equal(f['speed.joules_per_token'].text, '–');
  const [chat] = view.verdictItems(sp);
  assert.equal(text(chat), 'Chat runs but slow · 9.5 tok/s, first token in 12.3 sa; b');
  assert.equal(find(chat, 'speed.verdicts.chat.suggestions').length, 0);
});

test('the chart draws a point per context, red past the usable line, and the current context', () => {
  const curve = {
    usable_bytes: 8 * GIB,
    points: [{ ctx: 4096, n_ctx: 4096, total_bytes: 6 * GIB, fits: true }, { ctx: 8192, n_ctx: 8192, total_bytes: 10 * GIB, fits: false }],
  };
  const nodes = chart(curve, { n_ctx: 4096 });
  assert.ok(nodes.every((n) => n.svg));
  const circles = nodes.filter((n) => n.tag === 'circle');
  assert.deepEqual(circles.map((c) => c.attrs.class), ['ok', 'over']);
  // the y axis runs to 10 GiB x 1.08 = 10.8 GiB; a quarter of that is 2.7, so the grid step is 5 GiB
  assert.equal(niceStep(2.7), 5);
  assert.deepEqual(nodes.filter((n) => n.tag === 'text' && n.attrs.class === 'tick' && n.attrs['text-anchor'] === 'end').map(text), ['0 GiB', '5 GiB', '10 GiB']);
  // contexts to 8K in steps of 2^ceil(log2(8192 / 5)) = 2048
  assert.deepEqual(nodes.filter((n) => n.attrs['text-anchor'] === 'middle' && n.attrs.class === 'tick').map(text), ['0', '2K', '4K', '6K', '8K']);
  assert.equal(nodes.filter((n) => n.attrs.class === 'now').length, 1);
  assert.equal(text(nodes.find((n) => n.attrs.class === 'usable-label')), 'usable 8.00 GiB');
});

test('a check answer shows each verdict, the bound with its arithmetic, the band and the explanations', () => {
  const report = {
    model: 'Llama-3-70B', quant: 'Q4_K_M', runtime: 'llama.cpp', n_ctx: 8192, as_run: '-ngl 40', warnings: ['w'], notes: ['the context is the runtime default'],
    claims: [
      { quantity: 'decode_tok_s', claimed: 300, verdict: 'impossible', bound: 23.7, bound_arithmetic: '1008 GB/s / 42.5 GB', predicted: 3.1, low: 2.5, high: 3.8, explanations: [] },
      { quantity: 'vram_gib', claimed: 19, verdict: 'implausible', bound: 24, bound_arithmetic: 'the accelerators hold 24.00 GiB in all', predicted: 22.5, low: 21.9, high: 23.1,
        explanations: [{ cause: 'a quantized KV cache', setting: '-ctk q8_0', predicted: 19.2, low: 18.7, high: 19.7 }] },
      { quantity: 'fits', claimed: 1, verdict: 'plausible', bound: null, bound_arithmetic: null, predicted: 1, low: 1, high: 1, explanations: [] },
    ],
  };
  const nodes = view.checkView(report, null);
  assert.equal(text(nodes[0]), 'Llama-3-70B Q4_K_M on llama.cpp, context 8,192: -ngl 40');
  // what building the setting chose is said, as `headroom check` prints it under the setting
  assert.equal(text(nodes[1]), 'the context is the runtime default');
  assert.deepEqual(find(nodes, 'check.decode_tok_s').map((n) => n.attrs['data-value']), ['impossible']);
  assert.equal(text(find(nodes, 'check.decode_tok_s.bound')[0]), 'Physical bound: at most 23.7 tok/s — 1008 GB/s / 42.5 GB');
  assert.equal(text(find(nodes, 'check.decode_tok_s.predicted')[0]), 'Headroom predicts 3.1 tok/s (band 2.5 tok/s – 3.8 tok/s)');
  // an impossible claim is not explained: no setting reaches it
  assert.equal(find(nodes, 'check.decode_tok_s.explanations').length, 0);
  const ex = find(nodes, 'check.vram_gib.explanations')[0];
  assert.equal(ex.attrs['data-value'], '1');
  assert.equal(text(ex), 'a quantized KV cache: -ctk q8_0 → 19.20 GiB');
  assert.equal(text(find(nodes, 'check.fits.predicted')[0]), 'Headroom predicts: runs');
  assert.equal(find(nodes, 'check.fits.bound').length, 0);
  assert.deepEqual(view.checkView(null, 'tok_s: must be a positive finite number, got -1').map(text), ['tok_s: must be a positive finite number, got -1']);
  assert.equal(find(view.checkView(null, null), 'check.none').length, 1);
});

test('state travels through URL parameters and becomes the facade requests', () => {
  const s = stateFromParams(new URLSearchParams('model=llama-3-70b&hardware=rtx-4090,rtx-3090&ctx=8192&tok-s=300&os=linux&colour=red'));
  assert.deepEqual(s, { model: 'llama-3-70b', hardware: 'rtx-4090,rtx-3090', ctx: '8192', 'tok-s': '300', os: 'linux' });
  // the setting's flags first, then the claims
  assert.equal(paramsFromState(s).toString(), 'model=llama-3-70b&hardware=rtx-4090%2Crtx-3090&ctx=8192&os=linux&tok-s=300');
  // the operating system is a setting of the run (`--os`), in the request, not a claim
  assert.deepEqual(requestFromState(s), { model: 'llama-3-70b', hardware: ['rtx-4090', 'rtx-3090'], ctx: 8192, os: 'linux' });
  assert.deepEqual(claimsFromState(s), { tok_s: 300 });
  assert.equal(claimsFromState({ os: 'linux' }), null, 'an operating system alone claims nothing');
  assert.throws(() => requestFromState({ os: 'beos' }), /os: `beos` is not linux, windows, wsl2, macos/);
  assert.equal(requestFromState({ backend: 'vulkan' }).backend, 'vulkan');
  assert.throws(() => requestFromState({ backend: 'opencl' }), /backend: `opencl`/);
  assert.deepEqual(claimsFromState({ fits: 'no' }), { fits: false });
  assert.throws(() => claimsFromState({ fits: 'maybe' }), /fits: `maybe`/);
  assert.throws(() => requestFromState({ ctx: 'lots' }), /ctx: `lots` is not a number/);
  assert.deepEqual(requestFromState({ hardware: 'custom', 'custom-memory': '16', 'custom-kind': 'unified' }).custom_device, { memory_gib: 16, bandwidth_gbs: 1000, kind: 'unified' });
  assert.deepEqual(withField({ a: '1' }, 'a', ''), {});
  assert.ok(FIELDS.includes('tok-s') && FIELDS.includes('ctx'));
});

test('the scheduler starts a change at once, at most one run per frame, never two at once, and the last state wins', async () => {
  const frames = [];
  const frame = (cb) => frames.push(cb);
  const soon = [];
  let state = 0;
  const seen = [];
  let release;
  const sched = new FrameScheduler(frame, () => {
    seen.push(state);
    return new Promise((ok) => { release = ok; });
  }, (cb) => soon.push(cb));
  const flush = async () => {
    await new Promise((ok) => setTimeout(ok, 0));
  };
  for (let i = 1; i <= 50; i++) {
    state = i;
    sched.request(100 + i);
  }
  assert.equal(soon.length, 1, 'fifty requests in one task start one run, after the task');
  assert.equal(frames.length, 0, 'the first change of a frame does not wait for a frame');
  soon.shift()();
  assert.deepEqual(seen, [50]);
  assert.equal(sched.runFor, 101, 'the run is counted from the first change it answers');
  // one frame callback: the frame's run is used
  assert.equal(frames.length, 1);
  // changes while the core works: one more run after it answers, with the newest state
  for (let i = 51; i <= 60; i++) {
    state = i;
    sched.request(200 + i);
  }
  assert.equal(soon.length + frames.length, 1, 'nothing more is queued while a recompute is in flight');
  let settled = false;
  const done = sched.settled().then(() => { settled = true; });
  release();
  await flush();
  // this frame had its run: the next waits for the next frame
  assert.equal(soon.length, 0);
  assert.equal(frames.length, 2);
  frames.shift()(); // the frame starts: its run is free again
  frames.shift()();
  assert.deepEqual(seen, [50, 60]);
  assert.equal(sched.runFor, 251);
  assert.equal(settled, false);
  release();
  await done;
  assert.equal(sched.asked, 60);
  assert.equal(sched.ran, 2);
  // a change in a later frame, after the page was idle, starts at once again
  frames.shift()();
  state = 61;
  sched.request(300);
  assert.equal(soon.length, 1);
  soon.shift()();
  assert.deepEqual(seen, [50, 60, 61]);
  release();
  await sched.settled();
});
