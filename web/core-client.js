// @ts-check
// The page's side of the Worker that runs the wasm core (worker.js): each call is a message, each
// answer a promise, so the main thread never computes and stays responsive while the core works.

/** An error from the core, `trap` when the wasm instance trapped (the Worker then loads a new one). */
export class CoreError extends Error {
  constructor(/** @type {string} */ message, /** @type {boolean} */ trap) {
    super(message);
    this.trap = trap;
  }
}

/**
 * A module Worker running worker.js. A host page on another origin than the calculator's files
 * cannot start a Worker from that origin's URL; the Worker is then a same-origin blob that imports
 * worker.js (with CORS, as the module scripts are fetched).
 */
function startWorker(/** @type {URL} */ url) {
  try {
    return new Worker(url, { type: 'module', name: 'headroom-core' });
  } catch (e) {
    if (!(e instanceof DOMException) || e.name !== 'SecurityError') throw e;
    const boot = new Blob([`import ${JSON.stringify(url.href)};`], { type: 'text/javascript' });
    return new Worker(URL.createObjectURL(boot), { type: 'module', name: 'headroom-core' });
  }
}

export class CoreClient {
  constructor(url = new URL('./worker.js', import.meta.url)) {
    this.worker = startWorker(url);
    this.next = 1;
    /** @type {Map<number, { ok: (v: any) => void, fail: (e: Error) => void }>} */
    this.pending = new Map();
    this.worker.addEventListener('message', (e) => {
      const { id, ok, error, trap } = e.data;
      const p = this.pending.get(id);
      if (!p) return;
      this.pending.delete(id);
      if (error !== undefined) p.fail(new CoreError(error, !!trap));
      else p.ok(ok);
    });
    this.worker.addEventListener('error', (e) => {
      const err = new CoreError(`the calculator's worker failed: ${e.message || 'it could not load'}`, false);
      for (const p of this.pending.values()) p.fail(err);
      this.pending.clear();
    });
  }

  /**
   * Calls the core in the Worker: `catalog`, `version`, `describeModel`, `read_gguf`, `evaluate`
   * (fit, curve, model summary and check at once) or `restart`.
   * @param {string} op
   * @param {...unknown} args
   * @returns {Promise<any>}
   */
  call(op, ...args) {
    const id = this.next++;
    return new Promise((ok, fail) => {
      this.pending.set(id, { ok, fail });
      this.worker.postMessage({ id, op, args });
    });
  }
}
