// @ts-check
// The calculator's Worker: loads the wasm facade and answers the page's calls (core-client.js), so
// the core's work never blocks the page. A trapped instance is replaced by a fresh one.

/** @typedef {typeof import('./pkg/headroom_wasm.js')} Facade */

/** The Worker's own postMessage (the DOM library types `self` as a window). */
const post = (/** @type {unknown} */ message) => /** @type {{ postMessage(m: unknown): void }} */ (/** @type {unknown} */ (self)).postMessage(message);

let instances = 0;

/** @returns {Promise<Facade>} */
function load() {
  instances += 1;
  const url = new URL(`./pkg/headroom_wasm.js${instances > 1 ? `?instance=${instances}` : ''}`, import.meta.url);
  return import(url.href).then(async (/** @type {Facade} */ m) => {
    await m.default({ module_or_path: new URL('./pkg/headroom_wasm_bg.wasm', import.meta.url) });
    return m;
  });
}

let core = load();

/** The last catalog model described, and its summary: a change to anything else keeps it. */
let described = { model: '', info: /** @type {unknown} */ (null) };

/** A catalog model's summary (a file's is the page's, made when it was read). */
function info(/** @type {Facade} */ m, /** @type {unknown} */ model) {
  if (typeof model !== 'string') return null;
  if (described.model !== model) {
    let i = null;
    try {
      i = m.describeModel(model);
    } catch {
      // the fit named the model already; an unknown one is an error there
    }
    described = { model, info: i };
  }
  return described.info;
}

/** What the page asks on every change: the fit answer and curve (JSON text), the model's summary, the check. */
function evaluate(/** @type {Facade} */ m, /** @type {{ request: any, points: number, claims: any }} */ a) {
  const t0 = performance.now();
  // the answer and curve as the wasm's JSON text: the page parses it (cheaper than a clone)
  const answer = m.evaluateJson(a.request, a.points);
  const summary = info(m, a.request.model);
  let check = null;
  let checkError = null;
  if (a.claims) {
    try {
      check = m.check(a.request, a.claims);
    } catch (e) {
      if (e instanceof WebAssembly.RuntimeError) throw e;
      checkError = e instanceof Error ? e.message : String(e);
    }
  }
  return { answer, info: summary, check, checkError, ms: performance.now() - t0 };
}

/** @type {Record<string, (m: Facade, ...args: any[]) => unknown>} */
const OPS = {
  catalog: (m) => m.catalog(),
  version: (m) => m.version(),
  describeModel: (m, model) => m.describeModel(model),
  read_gguf: (m, bytes) => m.read_gguf(bytes),
  evaluate,
};

self.addEventListener('message', async (/** @type {MessageEvent} */ e) => {
  const { id, op, args } = e.data;
  try {
    if (op === 'restart') {
      core = load();
      described = { model: '', info: null };
      await core;
      post({ id, ok: null });
      return;
    }
    const m = await core;
    const f = OPS[op];
    if (!f) throw new Error(`unknown call ${op}`);
    post({ id, ok: f(m, ...args) });
  } catch (err) {
    const trap = err instanceof WebAssembly.RuntimeError;
    if (trap) {
      core = load();
      described = { model: '', info: null };
    }
    post({ id, error: err instanceof Error ? err.message : String(err), trap });
  }
});
