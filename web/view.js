// @ts-check
// The calculator's view functions: from the facade's answers to what the page shows, as plain
// data (a field's value and text, or small element trees made with `h`), with no DOM. `dom.js`
// turns them into elements; tests/view.test.mjs runs them under Node.

import { gib, signedGib, tokens, params, size, fixed } from './format.js';

/** @typedef {import('./pkg/headroom_wasm.js').FitResult} FitResult */
/** @typedef {import('./pkg/headroom_wasm.js').SpeedReport} SpeedReport */
/** @typedef {import('./pkg/headroom_wasm.js').CheckReport} CheckReport */
/** @typedef {import('./pkg/headroom_wasm.js').ClaimCheck} ClaimCheck */
/** @typedef {import('./pkg/headroom_wasm.js').ModelItem} ModelItem */

/**
 * An element to make: tag, attributes, CSSOM style properties (never a `style` attribute, which a
 * strict style-src policy refuses), children, and the SVG namespace for the chart.
 * @typedef {{ tag: string, attrs: Record<string, string>, style?: Record<string, string>, children: Node[], svg?: boolean }} VNode
 * @typedef {VNode | string} Node
 */

/**
 * @param {string} tag
 * @param {Record<string, string | number | boolean | null | undefined>} [attrs]
 * @param {...(Node | null | undefined | false)} children
 * @returns {VNode}
 */
export function h(tag, attrs = {}, ...children) {
  /** @type {Record<string, string>} */
  const a = {};
  for (const [k, v] of Object.entries(attrs)) if (v !== null && v !== undefined && v !== false) a[k] = String(v);
  return { tag, attrs: a, children: /** @type {Node[]} */ (children.filter((c) => c !== null && c !== undefined && c !== false)) };
}

/** A field the page shows: its exact value (data-value) and the text a person reads. */
/** @typedef {{ field: string, value: unknown, text: string, hidden?: boolean, low?: unknown, high?: unknown, small?: string }} Field */

/** `data-value` of a value: null and undefined as "null". */
export function dataValue(/** @type {unknown} */ v) {
  return v === null || v === undefined ? 'null' : String(v);
}

export const PARTS = /** @type {const} */ (['weights', 'kv_cache', 'compute', 'output', 'overhead']);
export const PART_NAMES = {
  weights: 'Weights', kv_cache: 'KV cache', compute: 'Compute buffers', output: 'Output', overhead: 'Runtime overhead',
};
/** The use cases and verdicts of `headroom speed`, as the page names them. */
export const USE_CASES = {
  chat: 'Chat', agent: 'Coding agent (16K prompt)', summary: 'Long-document summary (32K)', batch: 'Batch of 8 sequences',
};
export const VERDICTS = { usable: 'usable', runs_but_slow: 'runs but slow', context_too_short: 'context too short', poor_quality: 'poor quality', does_not_fit: 'does not fit' };

/** The model line under the model inputs. */
export function modelInfo(/** @type {ModelItem | null} */ info) {
  return {
    field: 'model-info',
    value: info ? info.name : '',
    text: info
      ? `${info.name} · ${info.arch} · ${params(info.params)} parameters · ${info.n_layer} layers · trained for ${tokens(info.n_ctx_train)} tokens`
      : '',
  };
}

/** The headline numbers of a fit answer, with the fits verdict, host RAM, offload and vLLM pool. */
export function fitFields(/** @type {FitResult} */ r) {
  const host = PARTS.reduce((a, p) => a + r.host_breakdown[p], 0);
  const hb = r.host_breakdown;
  /** @type {Field[]} */
  const out = [
    { field: 'fits', value: r.fits, text: `${r.fits ? 'Fits' : 'Does not fit'}: ${r.model} ${r.quant} on ${r.runtime}` },
    { field: 'total_bytes', value: r.total_bytes, text: gib(r.total_bytes) },
    { field: 'usable_bytes', value: r.usable_bytes, text: gib(r.usable_bytes) },
    { field: 'margin_bytes', value: r.margin_bytes, text: signedGib(r.margin_bytes) },
    { field: 'n_ctx', value: r.n_ctx, text: tokens(r.n_ctx) },
    { field: 'max_context', value: r.max_context, text: tokens(r.max_context) },
    {
      field: 'host_total', value: host, hidden: host === 0,
      text: `System RAM: ${gib(host)} (weights ${gib(hb.weights)}, KV cache ${gib(hb.kv_cache)}, buffers ${gib(hb.compute + hb.output + hb.overhead)})`,
    },
  ];
  const o = r.offload;
  out.push(o
    ? {
      field: 'offload', value: o.gpu_layers,
      text: `To fit the GPU: -ngl ${o.gpu_layers}${o.n_cpu_moe ? ` --n-cpu-moe ${o.n_cpu_moe}` : ''} (${o.gpu_layers} of ${o.total_layers} layers on the GPU), leaving ${gib(o.host_bytes)} in system RAM${o.host_fits === false ? ', more than it has' : ''}.`,
    }
    : { field: 'offload', value: null, text: '', hidden: true });
  const k = r.kv_capacity;
  out.push(k
    ? { field: 'kv_capacity.kv_tokens', value: k.kv_tokens, text: `vLLM's KV pool holds ${tokens(k.kv_tokens)} tokens: ${k.max_concurrency.toFixed(2)} sequences at the full context at once.` }
    : { field: 'kv_capacity.kv_tokens', value: null, text: '', hidden: true });
  return out;
}

/** The stacked memory bar: one segment per part, scaled to the larger of need and usable, and the usable mark. */
export function bar(/** @type {FitResult} */ r) {
  const scale = Math.max(r.usable_bytes, r.total_bytes, 1);
  /** @type {VNode[]} */
  const kids = PARTS.map((p) => {
    const seg = h('span', { class: `seg ${p}`, title: `${PART_NAMES[p]}: ${gib(r.breakdown[p])}` });
    seg.style = { width: `${(100 * r.breakdown[p]) / scale}%` };
    return seg;
  });
  const mark = h('span', { class: 'usable', title: `usable ${gib(r.usable_bytes)}` });
  mark.style = { left: `${(100 * r.usable_bytes) / scale}%` };
  kids.push(mark);
  return kids;
}

/** The breakdown's legend, each part with its size. */
export function legend(/** @type {FitResult} */ r) {
  return PARTS.map((p) => h('li', { class: p }, h('i'), `${PART_NAMES[p]} `,
    h('b', { 'data-field': `breakdown.${p}`, 'data-value': String(r.breakdown[p]) }, gib(r.breakdown[p]))));
}

/** Per-device totals, shown for several devices. */
export function deviceRows(/** @type {FitResult} */ r) {
  return r.devices.map((d, i) => h('tr', { class: d.fits ? 'yes' : 'no' },
    h('td', {}, d.name),
    h('td', { 'data-field': `devices.${i}.total_bytes`, 'data-value': String(d.total_bytes) }, gib(d.total_bytes)),
    h('td', {}, gib(d.usable_bytes)),
    h('td', {}, d.fits ? 'fits' : 'over')));
}

/** The max context with each KV cache type. */
export function cacheTypeRows(/** @type {FitResult} */ r) {
  return r.max_context_by_cache_type.map((c) => h('tr', {},
    h('td', {}, `${c.cache_type}${c.flash_attn ? ' + flash attention' : ''}`),
    h('td', { 'data-field': `max_context_by_cache_type.${c.cache_type}`, 'data-value': String(c.max_context) }, tokens(c.max_context))));
}

const SPEED_FIELDS = ['speed.query', 'speed.prefill_tok_s', 'speed.decode_tok_s', 'speed.ttft_s', 'speed.load_s', 'speed.joules_per_token', 'speed.tokens_per_joule', 'speed.calibration'];

/**
 * A value with its band: exact numbers as data, the text "12.3 (10.1–14.0)".
 * @returns {Field}
 */
function withBand(/** @type {string} */ field, /** @type {number | null} */ v, /** @type {number | null} */ lo, /** @type {number | null} */ hi, /** @type {number} */ digits, /** @type {string} */ unit) {
  const f = { field, value: v, low: lo, high: hi, text: fixed(v, digits, unit) };
  if (v !== null && v !== undefined && lo !== null && lo !== undefined && hi !== null && hi !== undefined) {
    return { ...f, small: ` (${fixed(lo, digits, '')}–${fixed(hi, digits, unit)})` };
  }
  return f;
}

/** The speed numbers at llama-bench's default query, as `fit --json`'s `speed` gives them; none when nothing fits. */
export function speedFields(/** @type {SpeedReport | null} */ sp) {
  if (!sp) {
    return SPEED_FIELDS.map((f) => ({ field: f, value: null, text: f === 'speed.query' ? 'none: these settings do not fit' : '–' }));
  }
  const q = sp.query;
  return [
    { field: 'speed.query', value: `${q.prompt_tokens}/${q.gen_tokens}`, text: `a ${tokens(q.prompt_tokens)}-token prompt, then ${tokens(q.gen_tokens)} tokens generated` },
    withBand('speed.prefill_tok_s', sp.prefill_tok_s, sp.prefill_tok_s_low, sp.prefill_tok_s_high, 0, ''),
    withBand('speed.decode_tok_s', sp.decode_tok_s, sp.decode_tok_s_low, sp.decode_tok_s_high, 1, ''),
    withBand('speed.ttft_s', sp.ttft_s, sp.ttft_s_low, sp.ttft_s_high, 2, ' s'),
    { field: 'speed.load_s', value: sp.load_s, text: fixed(sp.load_s, 1, ' s') },
    { field: 'speed.joules_per_token', value: sp.joules_per_token, text: fixed(sp.joules_per_token, 2, ' J') },
    { field: 'speed.tokens_per_joule', value: sp.tokens_per_joule, text: fixed(sp.tokens_per_joule, 2, ' tok/J') },
    { field: 'speed.calibration', value: sp.calibration.join(', '), text: sp.calibration.length ? `Fitted efficiencies: ${sp.calibration.join(', ')}` : '' },
  ];
}

/** A verdict per use case, with its reasons and what would help. */
export function verdictItems(/** @type {SpeedReport | null} */ sp) {
  if (!sp) return [];
  return sp.verdicts.map((v) => {
    const u = v.use_case;
    return h('li', { class: `v ${v.verdict}` },
      h('b', {}, USE_CASES[u] || u), ' ',
      h('span', { class: 'label', 'data-field': `speed.verdicts.${u}`, 'data-value': v.verdict }, VERDICTS[v.verdict] || v.verdict),
      h('span', { class: 'at', 'data-field': `speed.verdicts.${u}.decode_tok_s`, 'data-value': String(v.decode_tok_s) },
        v.decode_tok_s === null ? '' : ` · ${fixed(v.decode_tok_s, 1, ' tok/s')}${v.ttft_s === null ? '' : `, first token in ${fixed(v.ttft_s, 1, ' s')}`}`),
      v.reasons.length > 0 && h('span', { class: 'why', 'data-field': `speed.verdicts.${u}.reasons`, 'data-value': String(v.reasons.length) }, v.reasons.join('; ')),
      v.suggestions.length > 0 && h('span', { class: 'fix', 'data-field': `speed.verdicts.${u}.suggestions`, 'data-value': String(v.suggestions.length) }, `Would help: ${v.suggestions.join('; ')}`));
  });
}

/** The speed warnings, or the one line that says there is no speed. */
export function speedWarnings(/** @type {SpeedReport | null} */ sp) {
  if (!sp) return [h('li', {}, 'These settings do not fit, and no offload fits either: no speed.')];
  return sp.warnings.map((w) => h('li', {}, w));
}

/** The fit answer's warnings. */
export function warnings(/** @type {FitResult} */ r) {
  return r.warnings.map((w) => h('li', {}, w));
}

/** The loaded calibration profile's line. */
export function profileLine(/** @type {{ label: string, bytes: number } | null} */ p) {
  return p ? `calibration profile ${p.label} (${size(p.bytes)})` : '';
}

/** How each quantity of `headroom check` is named and written, as the command prints it. */
export const QUANTITIES = {
  decode_tok_s: { name: 'Generation', unit: 'tok/s', digits: 1 },
  prompt_tok_s: { name: 'Prompt', unit: 'tok/s', digits: 0 },
  ttft_s: { name: 'Time to first token', unit: 's', digits: 2 },
  vram_gib: { name: 'VRAM in use', unit: 'GiB', digits: 2 },
  vram_rise_gib: { name: 'VRAM rise', unit: 'GiB', digits: 2 },
  load_s: { name: 'Load time', unit: 's', digits: 1 },
  fits: { name: 'Runs at all', unit: '', digits: 0 },
};

/** A claimed or predicted number of a quantity, as `headroom check` prints it. */
export function claimNumber(/** @type {keyof typeof QUANTITIES} */ q, /** @type {number} */ v) {
  if (q === 'fits') return v >= 0.5 ? 'runs' : 'does not run';
  const u = QUANTITIES[q];
  return `${v.toFixed(u.digits)} ${u.unit}`;
}

/** One claim's verdict, bound with its arithmetic, prediction and band, and explanations. */
export function claimItem(/** @type {ClaimCheck} */ c) {
  const q = c.quantity;
  const f = `check.${q}`;
  const side = q === 'decode_tok_s' || q === 'prompt_tok_s' || q === 'vram_gib' || q === 'vram_rise_gib' || q === 'fits' ? 'at most' : 'at least';
  return h('li', { class: `claim ${c.verdict}`, 'data-field': f, 'data-value': c.verdict },
    h('b', {}, QUANTITIES[q].name), ' ', claimNumber(q, c.claimed), ': ',
    h('span', { class: 'label', 'data-field': `${f}.verdict`, 'data-value': c.verdict }, c.verdict),
    c.predicted !== null && c.low !== null && c.high !== null && h('span', {
      class: 'predicted', 'data-field': `${f}.predicted`, 'data-value': String(c.predicted), 'data-low': String(c.low), 'data-high': String(c.high),
    }, q === 'fits' ? `Headroom predicts: ${claimNumber(q, c.predicted)}` : `Headroom predicts ${claimNumber(q, c.predicted)} (band ${claimNumber(q, c.low)} – ${claimNumber(q, c.high)})`),
    c.bound !== null && c.bound_arithmetic !== null && h('span', { class: 'bound', 'data-field': `${f}.bound`, 'data-value': String(c.bound) },
      q === 'fits' ? `Bound: ${c.bound_arithmetic}` : `Physical bound: ${side} ${claimNumber(q, c.bound)} — ${c.bound_arithmetic}`),
    c.verdict === 'implausible' && (c.explanations.length
      ? h('ol', { class: 'explanations', 'data-field': `${f}.explanations`, 'data-value': String(c.explanations.length) },
        ...c.explanations.map((e) => h('li', {}, `${e.cause}: `, h('code', {}, e.setting), ` → ${claimNumber(q, e.predicted)}`)))
      : h('span', { class: 'why', 'data-field': `${f}.explanations`, 'data-value': '0' }, 'No setting searched reproduces it.')));
}

/** The "check a number" panel's answer: the setting it judged and what building it chose, each claim, the warnings. */
export function checkView(/** @type {CheckReport | null} */ report, /** @type {string | null} */ error) {
  if (error) return [h('p', { class: 'error', 'data-field': 'check.error', 'data-value': error }, error)];
  if (!report) return [h('p', { class: 'note', 'data-field': 'check.none', 'data-value': '' }, 'Enter a number you saw or were told to check it against this setting.')];
  return [
    h('p', { class: 'as-run', 'data-field': 'check.as_run', 'data-value': report.as_run },
      `${report.model} ${report.quant} on ${report.runtime}, context ${tokens(report.n_ctx)}: ${report.as_run}`),
    report.notes.length > 0 && h('ul', { class: 'notes', 'data-check-notes': '' }, ...report.notes.map((n) => h('li', {}, n))),
    h('ul', { class: 'claim-list' }, ...report.claims.map(claimItem)),
    report.warnings.length > 0 && h('ul', { class: 'warnings', 'data-check-warnings': '' }, ...report.warnings.map((w) => h('li', {}, w))),
  ].filter((x) => x !== false);
}
