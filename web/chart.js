// @ts-check
// The chart of memory against context: the answer's curve as SVG element trees (see view.js's
// `h`), with no DOM, so it is tested under Node.

import { h } from './view.js';
import { gib } from './format.js';

/** @typedef {import('./view.js').VNode} VNode */

export const WIDTH = 560;
export const HEIGHT = 230;
const L = 56;
const R = 12;
const T = 12;
const B = 34;
const GIB = 1024 ** 3;

/** @returns {VNode} */
function s(/** @type {string} */ tag, /** @type {Record<string, string | number>} */ attrs, /** @type {string | undefined} */ text = undefined) {
  const n = text === undefined ? h(tag, attrs) : h(tag, attrs, text);
  n.svg = true;
  return n;
}

/** A round grid step (1, 2, 2.5 or 5 times a power of ten) at least `raw`. */
export function niceStep(/** @type {number} */ raw) {
  if (!(raw > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= raw) return m * p;
  return 10 * p;
}

/**
 * The chart's elements: GiB grid, context ticks in powers of two, the usable line, the curve with
 * a point per context (red where it does not fit) and the current context.
 * @param {import('./pkg/headroom_wasm.js').Curve} curve
 * @param {{ n_ctx: number }} r
 * @returns {VNode[]}
 */
export function chart(curve, r) {
  return [...chartBase(curve), ...chartNow(curve, r)];
}

/** The context axis's end: the curve's last context. */
const xEnd = (/** @type {import('./pkg/headroom_wasm.js').Curve} */ curve) => Math.max(...curve.points.map((p) => p.ctx), 1);
const xOf = (/** @type {number} */ c, /** @type {number} */ xmax) => L + ((WIDTH - L - R) * c) / xmax;

/**
 * The chart less the current context: what changes only with the curve (typing a context within
 * the curve's reach keeps the curve and moves only `chartNow`'s marker).
 * @param {import('./pkg/headroom_wasm.js').Curve} curve
 * @returns {VNode[]}
 */
export function chartBase(curve) {
  const pts = curve.points;
  const xmax = xEnd(curve);
  const ymax = Math.max(curve.usable_bytes, ...pts.map((p) => p.total_bytes), 1) * 1.08;
  const x = (/** @type {number} */ c) => xOf(c, xmax);
  const y = (/** @type {number} */ b) => HEIGHT - B - ((HEIGHT - T - B) * b) / ymax;
  /** @type {VNode[]} */
  const kids = [];
  const step = niceStep(ymax / GIB / 4);
  for (let g = 0; g * GIB <= ymax; g += step) {
    kids.push(s('line', { x1: L, x2: WIDTH - R, y1: y(g * GIB), y2: y(g * GIB), class: 'grid' }));
    kids.push(s('text', { x: L - 6, y: y(g * GIB) + 4, class: 'tick', 'text-anchor': 'end' }, `${+g.toFixed(2)} GiB`));
  }
  // contexts are counted in powers of two (32K = 32768 tokens)
  const xstep = 2 ** Math.max(0, Math.ceil(Math.log2(xmax / 5)));
  for (let c = 0; c <= xmax; c += xstep) {
    kids.push(s('text', { x: x(c), y: HEIGHT - B + 16, class: 'tick', 'text-anchor': 'middle' }, c >= 1024 ? `${+(c / 1024).toFixed(1)}K` : String(c)));
  }
  kids.push(s('text', { x: (L + WIDTH) / 2, y: HEIGHT - 4, class: 'axis', 'text-anchor': 'middle' }, 'context (tokens)'));
  kids.push(s('line', { x1: L, x2: WIDTH - R, y1: y(curve.usable_bytes), y2: y(curve.usable_bytes), class: 'usable' }));
  kids.push(s('text', { x: WIDTH - R, y: y(curve.usable_bytes) - 4, class: 'usable-label', 'text-anchor': 'end' }, `usable ${gib(curve.usable_bytes)}`));
  kids.push(s('polyline', { points: pts.map((p) => `${x(p.ctx).toFixed(1)},${y(p.total_bytes).toFixed(1)}`).join(' '), class: 'need' }));
  for (const p of pts) kids.push(s('circle', { cx: x(p.ctx).toFixed(1), cy: y(p.total_bytes).toFixed(1), r: 2.5, class: p.fits ? 'ok' : 'over' }));
  return kids;
}

/**
 * The current context's marker, when it is within the curve's contexts.
 * @param {import('./pkg/headroom_wasm.js').Curve} curve
 * @param {{ n_ctx: number }} r
 * @returns {VNode[]}
 */
export function chartNow(curve, r) {
  const xmax = xEnd(curve);
  if (!(r.n_ctx <= xmax)) return [];
  const x = xOf(r.n_ctx, xmax);
  return [s('line', { x1: x, x2: x, y1: T, y2: HEIGHT - B, class: 'now' })];
}
