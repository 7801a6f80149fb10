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

/** Whether a DOM node can be updated in place to show a view node (same kind and tag). */
function sameKind(/** @type {ChildNode} */ e, /** @type {VNodeOrText} */ v) {
  if (typeof v === 'string') return e.nodeType === 3;
  if (e.nodeType !== 1) return false;
  const el = /** @type {Element} */ (e);
  return el.localName === v.tag && (el.namespaceURI === SVG) === !!v.svg;
}

/** Updates an element's attributes and CSSOM style to a view node's. */
function patchElement(/** @type {Element} */ e, /** @type {import('./view.js').VNode} */ v) {
  for (const a of [...e.attributes]) if (a.name !== 'style' && !(a.name in v.attrs)) e.removeAttribute(a.name);
  for (const [k, val] of Object.entries(v.attrs)) if (e.getAttribute(k) !== val) e.setAttribute(k, val);
  const st = /** @type {HTMLElement} */ (e).style;
  if (v.style) {
    for (const k of [...st]) if (!(k in v.style)) st.removeProperty(k);
    for (const [k, val] of Object.entries(v.style)) if (st.getPropertyValue(k) !== val) st.setProperty(k, val);
  } else if (st && st.length) {
    e.removeAttribute('style');
  }
  fill(e, v.children);
}

/**
 * Makes an element's children show the view nodes: nodes that are there already are updated in
 * place (an attribute or a text that changed), the rest made or removed, so a redraw touches
 * only what changed.
 */
export function fill(/** @type {Element | null} */ parent, /** @type {VNodeOrText[]} */ nodes) {
  if (!parent) return;
  // the same view as last drawn here: nothing to compare element by element
  const key = JSON.stringify(nodes);
  if (drawn.get(parent) === key && parent.childNodes.length === nodes.length) return;
  patchFrom(parent, 0, nodes);
  drawn.set(parent, key);
}

/** What `fill` last drew into each element, as JSON: a redraw that changes nothing there skips it. */
const drawn = new WeakMap();

/** `fill` for the children from index `start` on; those before it are left as they are. */
export function fillFrom(/** @type {Element | null} */ parent, /** @type {number} */ start, /** @type {VNodeOrText[]} */ nodes) {
  if (!parent) return;
  drawn.delete(parent);
  patchFrom(parent, start, nodes);
}

function patchFrom(/** @type {Element} */ parent, /** @type {number} */ start, /** @type {VNodeOrText[]} */ nodes) {
  const have = parent.childNodes;
  for (let i = 0; i < nodes.length; i++) {
    const v = nodes[i];
    const e = have[start + i];
    if (!e) parent.append(toDom(v));
    else if (!sameKind(e, v)) e.replaceWith(toDom(v));
    else if (typeof v === 'string') { if (e.nodeValue !== v) e.nodeValue = v; }
    else patchElement(/** @type {Element} */ (e), v);
  }
  while (have.length > start + nodes.length) /** @type {ChildNode} */ (parent.lastChild).remove();
}

/** What `setField` last wrote into each field element, as JSON. */
const written = new WeakMap();

/** Each root's field elements, found once (the template's fields stay for the element's life). */
const fieldElements = new WeakMap();

/** Writes a field: its value (and band) as data attributes, its text, whether it shows. */
export function setField(/** @type {ShadowRoot} */ root, /** @type {Field} */ f) {
  /** @type {Map<string, HTMLElement | null>} */
  let known = fieldElements.get(root);
  if (!known) fieldElements.set(root, (known = new Map()));
  let e = known.get(f.field);
  if (e === undefined || (e && !e.isConnected)) {
    e = /** @type {HTMLElement | null} */ (root.querySelector(`[data-field="${f.field}"]`));
    known.set(f.field, e);
  }
  if (!e) return;
  // unchanged since it was last written: leave the element as it is
  const key = JSON.stringify(f);
  if (written.get(e) === key) return;
  written.set(e, key);
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
