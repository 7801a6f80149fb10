// @ts-check
// The calculator's stylesheet, fetched once and shared by every <headroom-calculator> on the page
// through `adoptedStyleSheets` (a <link> in each shadow root where that is not supported). Hosts
// restyle it with the `--headroom-*` custom properties and the elements' `part`s (web/README.md).

const CSS = new URL('./calculator.css', import.meta.url);
/** @type {Promise<CSSStyleSheet> | null} */
let shared = null;

function constructable() {
  return typeof CSSStyleSheet !== 'undefined' && 'replaceSync' in CSSStyleSheet.prototype
    && typeof ShadowRoot !== 'undefined' && 'adoptedStyleSheets' in ShadowRoot.prototype;
}

/** Gives a shadow root the calculator's styles; resolves once they apply. */
export async function adoptStyles(/** @type {ShadowRoot} */ root) {
  if (!constructable()) {
    const link = document.createElement('link');
    link.rel = 'stylesheet';
    link.href = CSS.href;
    root.prepend(link);
    return;
  }
  shared ??= fetch(CSS).then((r) => {
    if (!r.ok) throw new Error(`${CSS.href}: ${r.status}`);
    return r.text();
  }).then((text) => {
    const sheet = new CSSStyleSheet();
    sheet.replaceSync(text);
    return sheet;
  });
  root.adoptedStyleSheets = [...root.adoptedStyleSheets, await shared];
}
