// @ts-check
// The view functions' element trees and fields into the shadow root's DOM: the only module that
// makes elements.

const SVG = 'http://www.w3.org/2000/svg';

/** @typedef {import('./view.js').Node} VNodeOrText */
/** @typedef {import('./view.js').Field} Field */

/** An element (or text node) for a view node. */
export function toDom(/** @type {VNodeOrText} */ v) {
  if (typeof v === 'string') return document.createTextNode(v);
  const e = v.svg ? document.createElementNS(SVG, v.tag) : document.createElement(v.tag);
  for (const [k, val] of Object.entries(v.attrs)) e.setAttribute(k, val);
  // CSSOM, not a style attribute: a strict style-src policy allows it
  if (v.style) for (const [k, val] of Object.entries(v.style)) /** @type {HTMLElement} */ (e).style.setProperty(k, val);
  for (const c of v.children) e.append(toDom(c));
  return e;
}

/** Replaces an element's children with the view nodes'. */
export function fill(/** @type {Element | null} */ parent, /** @type {VNodeOrText[]} */ nodes) {
  parent?.replaceChildren(...nodes.map(toDom));
}

/** Writes a field: its value (and band) as data attributes, its text, whether it shows. */
export function setField(/** @type {ShadowRoot} */ root, /** @type {Field} */ f) {
  const e = /** @type {HTMLElement | null} */ (root.querySelector(`[data-field="${f.field}"]`));
  if (!e) return;
  e.dataset.value = f.value === null || f.value === undefined ? 'null' : String(f.value);
  if ('low' in f) e.dataset.low = f.low === null || f.low === undefined ? 'null' : String(f.low);
  if ('high' in f) e.dataset.high = f.high === null || f.high === undefined ? 'null' : String(f.high);
  e.textContent = f.text;
  if (f.small) {
    const small = document.createElement('small');
    small.textContent = f.small;
    e.append(small);
  }
  if (f.hidden !== undefined) e.hidden = f.hidden;
}
