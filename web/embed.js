// <headroom-calculator>: the whole calculator as one custom element, for this site and for any
// page that embeds it with one script tag:
//
//   <script type="module" src="https://your.host/headroom/embed.js"></script>
//   <headroom-calculator model="qwen3-8b" hardware="rtx-3060-ti"></headroom-calculator>
//
// Attributes use the names of `headroom fit`'s flags (see FIELDS in headroom.js). With the
// `url-state` attribute the element also reads and writes the page's URL, so a result is a link.

import {
  loadCore, FIELDS, DEFAULTS, stateFromParams, paramsFromState, requestFromState,
  gib, signedGib, tokens, params, size, readModelFile, readProfileFile,
} from './headroom.js';

const PARTS = ['weights', 'kv_cache', 'compute', 'output', 'overhead'];
const PART_NAMES = {
  weights: 'Weights', kv_cache: 'KV cache', compute: 'Compute buffers', output: 'Output', overhead: 'Runtime overhead',
};
const CURVE_POINTS = 20;
/** The use cases and verdicts of `headroom speed`, as the page names them. */
const USE_CASES = {
  chat: 'Chat', agent: 'Coding agent (16K prompt)', summary: 'Long-document summary (32K)', batch: 'Batch of 8 sequences',
};
const VERDICTS = { usable: 'usable', runs_but_slow: 'runs but slow', context_too_short: 'context too short', poor_quality: 'poor quality', does_not_fit: 'does not fit' };

/** A number with `digits` decimals and a unit, or a dash when there is none. */
function fixed(v, digits, unit) {
  return v === null || v === undefined ? '–' : `${v.toFixed(digits)}${unit}`;
}

const TEMPLATE = `
<link rel="stylesheet" href="${new URL('./calculator.css', import.meta.url)}">
<div class="hr" part="calculator">
  <form class="inputs" autocomplete="off" onsubmit="return false">
    <fieldset class="model">
      <legend>Model</legend>
      <label>Search the catalog
        <input name="model" list="hr-models" type="search" spellcheck="false" placeholder="qwen3-8b, llama 3.1, gemma…">
      </label>
      <datalist id="hr-models"></datalist>
      <div class="drop" tabindex="0" data-drop>
        <span>…or drop a <b>.gguf</b> (only its header is read) or a <b>config.json</b></span>
        <input type="file" name="file" accept=".gguf,.json,application/json" aria-label="Model file">
      </div>
      <p class="file-status" data-field="file" hidden>
        <span data-file-label></span> <button type="button" data-clear-file>Use the catalog</button>
      </p>
      <p class="model-info" data-field="model-info"></p>
    </fieldset>
    <fieldset class="hardware">
      <legend>Hardware</legend>
      <label>Device
        <input name="hardware" list="hr-hardware" type="search" spellcheck="false" placeholder="rtx-4090, m4-max-40c, custom">
      </label>
      <datalist id="hr-hardware"></datalist>
      <label data-memory-option hidden>Memory
        <select name="memory"></select>
      </label>
      <div class="custom" data-custom hidden>
        <label>Memory (GiB) <input name="custom-memory" type="number" min="0" step="any" placeholder="24"></label>
        <label>Bandwidth (GB/s) <input name="custom-bandwidth" type="number" min="1" step="any" placeholder="1000"></label>
        <label>FP16 TFLOPS <input name="custom-tflops" type="number" min="0" step="any"></label>
        <label>Kind
          <select name="custom-kind">
            <option value="gpu">GPU with its own memory</option>
            <option value="unified">Unified memory (Mac)</option>
            <option value="cpu">CPU and system RAM</option>
          </select>
        </label>
      </div>
      <label>GPUs <input name="gpus" type="number" min="1" max="64" step="1" placeholder="1"></label>
      <label>System RAM (GiB) <input name="ram" type="number" min="0" step="any" placeholder="unknown"></label>
    </fieldset>
    <fieldset class="run">
      <legend>Runtime</legend>
      <label>Runtime <select name="runtime"></select></label>
      <label>Quantization <select name="quant"><option value="">runtime default</option></select></label>
      <label>Context (tokens) <input name="ctx" type="number" min="0" step="256" placeholder="runtime default"></label>
      <label data-runtime="llama.cpp">KV cache K <select name="cache-type-k"><option value="">f16</option></select></label>
      <label data-runtime="llama.cpp">KV cache V <select name="cache-type-v"><option value="">f16</option></select></label>
      <label data-runtime="llama.cpp" class="check"><input name="flash-attn" type="checkbox"> Flash attention</label>
      <label data-runtime="vllm">KV cache dtype
        <select name="kv-cache-dtype"><option value="">auto</option><option value="fp8">fp8</option></select></label>
      <label data-runtime="vllm">Tensor parallel <input name="tensor-parallel" type="number" min="1" max="64" step="1" placeholder="1"></label>
      <label data-runtime="mlx">KV bits
        <select name="kv-bits"><option value="">model dtype</option><option value="8">8</option><option value="4">4</option></select></label>
      <label data-runtime="transformers">Attention
        <select name="attention"><option value="">sdpa</option><option value="eager">eager</option></select></label>
      <details>
        <summary>More settings</summary>
        <label data-runtime="llama.cpp transformers">Batch <input name="batch" type="number" min="1" step="1" placeholder="default"></label>
        <label data-runtime="llama.cpp">Micro-batch <input name="ubatch" type="number" min="1" step="1" placeholder="512"></label>
        <label data-runtime="llama.cpp">GPU layers <input name="gpu-layers" type="number" min="0" step="1" placeholder="all"></label>
        <label data-runtime="llama.cpp">Parallel sequences <input name="parallel" type="number" min="1" step="1" placeholder="1"></label>
        <label data-runtime="llama.cpp">MoE layers with experts on the CPU <input name="n-cpu-moe" type="number" min="0" step="1" placeholder="0"></label>
        <label data-runtime="vllm">GPU memory utilization <input name="gpu-memory-utilization" type="number" min="0.05" max="1" step="0.01" placeholder="0.9"></label>
        <label data-runtime="vllm">Max sequences <input name="max-num-seqs" type="number" min="1" step="1" placeholder="256"></label>
      </details>
    </fieldset>
    <fieldset class="profile">
      <legend>Calibration</legend>
      <div class="drop" tabindex="0" data-profile-drop>
        <span>Drop a calibration profile (the JSON <b>headroom calibrate</b> writes) to use your own measurements</span>
        <input type="file" data-profile-input accept=".json,application/json" aria-label="Calibration profile">
      </div>
      <p class="file-status" data-field="profile" hidden>
        <span data-profile-label></span> <button type="button" data-clear-profile>Remove the profile</button>
      </p>
      <p class="note">A profile is a local file: it stays in this browser and is not part of the link to a result.</p>
    </fieldset>
  </form>
  <section class="result" aria-live="polite">
    <p class="error" role="alert" data-field="error" hidden></p>
    <div class="verdict" data-field="fits"></div>
    <dl class="numbers">
      <div><dt>Needs</dt><dd data-field="total_bytes"></dd></div>
      <div><dt>Usable</dt><dd data-field="usable_bytes"></dd></div>
      <div><dt>Margin</dt><dd data-field="margin_bytes"></dd></div>
      <div><dt>Context</dt><dd data-field="n_ctx"></dd></div>
      <div><dt>Max context</dt><dd data-field="max_context"></dd></div>
    </dl>
    <div class="bar" data-bar role="img" aria-label="memory breakdown"></div>
    <ul class="legend" data-legend></ul>
    <p class="host" data-field="host_total" hidden></p>
    <table class="devices" data-devices hidden>
      <thead><tr><th>Device</th><th>Needs</th><th>Usable</th><th></th></tr></thead><tbody></tbody>
    </table>
    <table class="cache-types" data-cache-types hidden>
      <thead><tr><th>KV cache</th><th>Max context</th></tr></thead><tbody></tbody>
    </table>
    <p class="offload" data-field="offload" hidden></p>
    <p class="kv-pool" data-field="kv_capacity.kv_tokens" hidden></p>
    <ul class="warnings" data-warnings></ul>
    <figure class="chart">
      <svg data-chart viewBox="0 0 560 230" role="img" aria-label="memory against context"></svg>
      <figcaption>Memory against context; the dashed line is the usable memory.</figcaption>
    </figure>
    <section class="speed" data-speed>
      <h3>Speed <small data-field="speed.query"></small></h3>
      <dl class="numbers">
        <div><dt>Prompt (tok/s)</dt><dd data-field="speed.prefill_tok_s"></dd></div>
        <div><dt>Generation (tok/s)</dt><dd data-field="speed.decode_tok_s"></dd></div>
        <div><dt>Time to first token</dt><dd data-field="speed.ttft_s"></dd></div>
        <div><dt>Load from disk</dt><dd data-field="speed.load_s"></dd></div>
        <div><dt>Energy per token</dt><dd data-field="speed.joules_per_token"></dd></div>
        <div><dt>Tokens per joule</dt><dd data-field="speed.tokens_per_joule"></dd></div>
      </dl>
      <p class="band">In brackets: the range that held about 90% of the measurements the model was fitted to.</p>
      <ul class="verdicts" data-verdicts></ul>
      <ul class="warnings" data-speed-warnings></ul>
      <p class="calibration" data-field="speed.calibration"></p>
    </section>
    <p class="foot">Headroom <span data-version></span> · runs in your browser · <a data-share href="#">link to this result</a></p>
  </section>
</div>`;

function el(tag, attrs = {}, text) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

const SVG = 'http://www.w3.org/2000/svg';
function svg(tag, attrs = {}, text) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

export class HeadroomCalculator extends HTMLElement {
  static get observedAttributes() {
    return FIELDS;
  }

  constructor() {
    super();
    this.attachShadow({ mode: 'open' });
    this.state = {};
    this.file = null;
    this.profile = null;
    this.core = null;
    this.result = null;
    this.lastRecomputeMs = null;
  }

  get urlState() {
    return this.hasAttribute('url-state');
  }

  async connectedCallback() {
    if (this.started) return;
    this.started = true;
    const root = this.shadowRoot;
    root.innerHTML = TEMPLATE;
    this.$ = (sel) => root.querySelector(sel);
    this.$$ = (sel) => [...root.querySelectorAll(sel)];
    const s = { ...DEFAULTS };
    for (const f of FIELDS) {
      const v = this.getAttribute(f);
      if (v !== null && v !== '') s[f] = v;
    }
    if (this.urlState) Object.assign(s, stateFromParams(new URLSearchParams(location.search)));
    this.state = s;
    try {
      performance.mark('headroom:load');
      this.core = await loadCore();
      performance.mark('headroom:core');
      this.catalog = this.core.catalog();
      performance.mark('headroom:catalog');
    } catch (e) {
      this.showError(`the calculator could not start: ${e.message || e}`);
      return;
    }
    this.fillLists();
    this.writeInputs();
    this.bind();
    this.$('[data-version]').textContent = this.core.version();
    if (this.urlState) this.writeUrl();
    this.recompute();
    this.dispatchEvent(new CustomEvent('headroom-ready', { bubbles: true, composed: true }));
  }

  attributeChangedCallback(name, _old, value) {
    if (!this.core) return;
    if (value === null || value === '') delete this.state[name];
    else this.state[name] = value;
    this.writeInputs();
    this.recompute();
  }

  fillLists() {
    const c = this.catalog;
    const models = this.$('#hr-models');
    for (const m of c.models) {
      models.append(el('option', { value: m.id }, `${m.name}${m.moe ? ' (MoE)' : ''} · ${m.hf_repo}`));
    }
    const hw = this.$('#hr-hardware');
    hw.append(el('option', { value: 'custom' }, 'Custom device: enter memory, bandwidth, TFLOPS'));
    for (const h of c.hardware) {
      const mem = h.memory_gib ? `${h.memory_gib} GiB` : h.memory_options_gib.length ? `${h.memory_options_gib.join('/')} GiB` : 'RAM of your choice';
      hw.append(el('option', { value: h.id }, `${h.name} · ${mem} · ${h.bandwidth_gbs} GB/s`));
    }
    const rt = this.$('select[name=runtime]');
    for (const r of c.runtimes) rt.append(el('option', { value: r }, r));
    const q = this.$('select[name=quant]');
    for (const name of c.quants) q.append(el('option', { value: name }, name));
    for (const which of ['cache-type-k', 'cache-type-v']) {
      const sel = this.$(`select[name=${which}]`);
      for (const t of c.cache_types.filter((t) => t !== 'f16')) sel.append(el('option', { value: t }, t));
    }
  }

  /** The catalog device a hardware field names, when it names exactly one. */
  deviceOf(text) {
    const t = (text || '').trim().toLowerCase();
    return this.catalog.hardware.find((h) => h.id === t) || null;
  }

  writeInputs() {
    const s = this.state;
    for (const input of this.$$('.inputs [name]')) {
      const name = input.name;
      if (name === 'file') continue;
      // flash attention is on unless switched off, as in `headroom fit`
      if (input.type === 'checkbox') input.checked = s[name] !== 'off';
      else {
        input.value = s[name] ?? '';
        if (input.tagName === 'SELECT' && input.selectedIndex < 0) input.selectedIndex = 0;
      }
    }
    const model = this.$('[name=model]');
    if (this.file) {
      model.value = '';
      model.placeholder = `using ${this.file.label}; type a name to use the catalog`;
    } else {
      model.placeholder = 'qwen3-8b, llama 3.1, gemma…';
    }
    this.updateVisibility();
  }

  updateVisibility() {
    const s = this.state;
    const runtime = s.runtime || 'llama.cpp';
    for (const e of this.$$('[data-runtime]')) e.hidden = !e.dataset.runtime.split(' ').includes(runtime);
    this.$('[data-custom]').hidden = (s.hardware || '').trim() !== 'custom';
    const memLabel = this.$('[data-memory-option]');
    const d = this.deviceOf(s.hardware);
    if (d && (d.memory_options_gib.length || d.memory_gib === null)) {
      const sel = this.$('select[name=memory]');
      const sizes = d.memory_options_gib.length ? d.memory_options_gib : [8, 16, 32, 64, 96, 128, 192, 256, 384, 512, 768, 1024];
      const first = d.memory_gib === null ? el('option', { value: '' }, 'choose…') : el('option', { value: '' }, `${d.memory_gib} GiB`);
      sel.replaceChildren(first, ...sizes.filter((g) => g !== d.memory_gib).map((g) => el('option', { value: String(g) }, `${g} GiB`)));
      sel.value = s.memory ?? '';
      if (sel.selectedIndex < 0) sel.selectedIndex = 0;
      memLabel.hidden = false;
    } else {
      memLabel.hidden = true;
    }
  }

  bind() {
    const form = this.$('.inputs');
    const onValue = (e) => {
      const t = e.target;
      if (!t.name || t.name === 'file') return;
      const next = t.type === 'checkbox' ? (t.checked ? 'on' : 'off') : t.value;
      if ((this.state[t.name] ?? '') === next && !(t.name === 'model' && this.file)) return;
      if (t.type === 'checkbox') {
        this.state[t.name] = t.checked ? 'on' : 'off';
      } else if (t.value === '') {
        delete this.state[t.name];
      } else {
        this.state[t.name] = t.value;
      }
      if (t.name === 'model') this.file = null;
      if (t.name === 'hardware') delete this.state.memory;
      // the input already shows its value; a new device resets the memory picker, a new model the file
      this.changed(t.name === 'hardware' || t.name === 'model');
    };
    // Text fields with suggestions commit on change (Enter, blur, a pick); the rest on every input.
    form.addEventListener('change', onValue);
    form.addEventListener('input', (e) => {
      if (e.target.type !== 'number') return;
      onValue(e);
    });
    const drop = this.$('[data-drop]');
    drop.addEventListener('dragover', (e) => {
      e.preventDefault();
      drop.classList.add('over');
    });
    drop.addEventListener('dragleave', () => drop.classList.remove('over'));
    drop.addEventListener('drop', (e) => {
      e.preventDefault();
      drop.classList.remove('over');
      const f = e.dataTransfer && e.dataTransfer.files[0];
      if (f) this.loadFile(f);
    });
    this.$('input[name=file]').addEventListener('change', (e) => {
      const f = e.target.files[0];
      if (f) this.loadFile(f);
    });
    const pdrop = this.$('[data-profile-drop]');
    pdrop.addEventListener('dragover', (e) => {
      e.preventDefault();
      pdrop.classList.add('over');
    });
    pdrop.addEventListener('dragleave', () => pdrop.classList.remove('over'));
    pdrop.addEventListener('drop', (e) => {
      e.preventDefault();
      pdrop.classList.remove('over');
      const f = e.dataTransfer && e.dataTransfer.files[0];
      if (f) this.loadProfile(f);
    });
    this.$('[data-profile-input]').addEventListener('change', (e) => {
      const f = e.target.files[0];
      if (f) this.loadProfile(f);
      e.target.value = '';
    });
    this.$('[data-clear-profile]').addEventListener('click', () => {
      this.profile = null;
      this.recompute();
    });
    this.$('[data-clear-file]').addEventListener('click', () => {
      this.file = null;
      this.changed();
    });
    this.$('[data-share]').addEventListener('click', (e) => {
      e.preventDefault();
      const url = this.shareUrl();
      if (navigator.clipboard) navigator.clipboard.writeText(url).catch(() => {});
      if (this.urlState) history.replaceState(null, '', url);
      else window.open(url, '_blank', 'noopener');
    });
  }

  /** A link to the page with this element's state (a dropped file cannot travel in a link). */
  shareUrl() {
    const own = this.urlState ? location.href : new URL('./index.html', import.meta.url).href;
    const base = this.getAttribute('share-base') || own;
    const u = new URL(base, location.href);
    u.search = paramsFromState(this.state).toString();
    return u.toString();
  }

  async loadFile(f) {
    try {
      const got = await readModelFile(this.core, f);
      const info = this.core.describeModel(got.model);
      this.file = { model: got.model, label: got.label, info, bytesRead: got.bytesRead, size: f.size };
      if (got.model.spec) delete this.state.quant;
      this.changed();
      this.dispatchEvent(new CustomEvent('headroom-file', { detail: info, bubbles: true, composed: true }));
    } catch (e) {
      this.showError(e.message || String(e));
    }
  }

  /** A calibration profile file, as `--calibration FILE`: read whole (bounded), never put in the URL. */
  async loadProfile(f) {
    try {
      this.profile = await readProfileFile(f);
      this.recompute();
    } catch (e) {
      this.showError(e.message || String(e));
    }
  }

  writeUrl() {
    const q = paramsFromState(this.state).toString();
    const keep = new URLSearchParams(location.search).get('embed') === '1' ? 'embed=1&' : '';
    history.replaceState(null, '', `?${keep}${q}`);
  }

  /** A catalog model's summary, counted once per model. */
  describe(id) {
    this.described ??= new Map();
    if (!this.described.has(id)) {
      let d = null;
      try {
        d = this.core.describeModel(id);
      } catch {
        // an unknown name: the fit shows the error
      }
      this.described.set(id, d);
    }
    return this.described.get(id);
  }

  /**
   * After a change: the URL follows shortly (a burst of typing writes it once), the inputs show
   * the state (`refill` when the state changed other than by the input itself), then the answer.
   */
  changed(refill = true) {
    if (this.urlState && !this.urlPending) {
      this.urlPending = true;
      setTimeout(() => {
        this.urlPending = false;
        this.writeUrl();
      }, 50);
    }
    if (refill) this.writeInputs();
    else this.updateVisibility();
    this.recompute();
  }

  showError(msg) {
    const e = this.$('[data-field=error]');
    e.textContent = msg;
    e.hidden = !msg;
    this.$('.result').classList.toggle('failed', !!msg);
  }

  set(field, value, text) {
    const e = this.$(`[data-field="${field}"]`);
    if (!e) return;
    e.dataset.value = value === null || value === undefined ? 'null' : String(value);
    e.textContent = text;
  }

  /** Replaces a core instance that trapped, keeping the page and its state. */
  async restart(e) {
    this.core = await loadCore(true);
    this.showError(`the calculation stopped on this input (${e.message}); change an input to go on`);
    this.dispatchEvent(new CustomEvent('headroom-restart', { bubbles: true, composed: true }));
  }

  /** Asks the core again and redraws; the time it took is `lastRecomputeMs`. */
  recompute() {
    const t0 = performance.now();
    let r;
    let curve;
    try {
      const req = requestFromState(this.state, this.file && this.file.model);
      if (this.profile) req.calibration = this.profile.text;
      ({ result: r, curve } = this.core.evaluate(req, CURVE_POINTS));
    } catch (e) {
      this.result = null;
      this.renderProfile();
      this.showError(e.message || String(e));
      if (e instanceof WebAssembly.RuntimeError) this.restart(e);
      this.lastRecomputeMs = performance.now() - t0;
      this.dispatchEvent(new CustomEvent('headroom-render', { detail: { error: e.message }, bubbles: true, composed: true }));
      return;
    }
    this.showError('');
    this.result = r;
    this.render(r, curve);
    this.lastRecomputeMs = performance.now() - t0;
    if (window.__headroomFirstRender === undefined) window.__headroomFirstRender = performance.now();
    this.dispatchEvent(new CustomEvent('headroom-render', { detail: { result: r, ms: this.lastRecomputeMs }, bubbles: true, composed: true }));
  }

  /** The loaded profile's name, shown whether or not the answer came (a wrong one gives the error). */
  renderProfile() {
    const ps = this.$('[data-field=profile]');
    ps.hidden = !this.profile;
    ps.dataset.value = this.profile ? this.profile.label : '';
    if (this.profile) this.$('[data-profile-label]').textContent = `calibration profile ${this.profile.label} (${size(this.profile.bytes)})`;
  }

  render(r, curve) {
    this.renderProfile();
    const fileStatus = this.$('[data-field=file]');
    fileStatus.hidden = !this.file;
    if (this.file) {
      const f = this.file;
      this.$('[data-file-label]').textContent = `${f.label}: read ${size(f.bytesRead)} of ${size(f.size)}`;
      fileStatus.dataset.value = String(f.bytesRead);
    }
    const info = this.file ? this.file.info : this.describe(this.state.model);
    this.set('model-info', info ? info.name : '', info
      ? `${info.name} · ${info.arch} · ${params(info.params)} parameters · ${info.n_layer} layers · trained for ${tokens(info.n_ctx_train)} tokens`
      : '');

    const v = this.$('[data-field=fits]');
    v.className = `verdict ${r.fits ? 'yes' : 'no'}`;
    this.set('fits', r.fits, r.fits ? `Fits: ${r.model} ${r.quant} on ${r.runtime}` : `Does not fit: ${r.model} ${r.quant} on ${r.runtime}`);
    this.set('total_bytes', r.total_bytes, gib(r.total_bytes));
    this.set('usable_bytes', r.usable_bytes, gib(r.usable_bytes));
    this.set('margin_bytes', r.margin_bytes, signedGib(r.margin_bytes));
    this.set('n_ctx', r.n_ctx, tokens(r.n_ctx));
    this.set('max_context', r.max_context, tokens(r.max_context));

    const scale = Math.max(r.usable_bytes, r.total_bytes, 1);
    const bar = this.$('[data-bar]');
    const legend = this.$('[data-legend]');
    bar.replaceChildren();
    legend.replaceChildren();
    for (const p of PARTS) {
      const b = r.breakdown[p];
      const seg = el('span', { class: `seg ${p}`, title: `${PART_NAMES[p]}: ${gib(b)}` });
      seg.style.width = `${(100 * b) / scale}%`;
      bar.append(seg);
      const li = el('li', { class: p });
      li.append(el('i'), `${PART_NAMES[p]} `, el('b', { 'data-field': `breakdown.${p}`, 'data-value': String(b) }, gib(b)));
      legend.append(li);
    }
    const usableMark = el('span', { class: 'usable', title: `usable ${gib(r.usable_bytes)}` });
    usableMark.style.left = `${(100 * r.usable_bytes) / scale}%`;
    bar.append(usableMark);

    const host = PARTS.reduce((a, p) => a + r.host_breakdown[p], 0);
    const hostEl = this.$('[data-field=host_total]');
    hostEl.hidden = host === 0;
    this.set('host_total', host, `System RAM: ${gib(host)} (weights ${gib(r.host_breakdown.weights)}, KV cache ${gib(r.host_breakdown.kv_cache)}, buffers ${gib(r.host_breakdown.compute + r.host_breakdown.output + r.host_breakdown.overhead)})`);

    const devices = this.$('[data-devices]');
    devices.hidden = r.devices.length < 2;
    devices.tBodies[0].replaceChildren(...r.devices.map((d, i) => {
      const tr = el('tr', { class: d.fits ? 'yes' : 'no' });
      tr.append(el('td', {}, d.name), el('td', { 'data-field': `devices.${i}.total_bytes`, 'data-value': String(d.total_bytes) }, gib(d.total_bytes)),
        el('td', {}, gib(d.usable_bytes)), el('td', {}, d.fits ? 'fits' : 'over'));
      return tr;
    }));

    const ct = this.$('[data-cache-types]');
    ct.hidden = r.max_context_by_cache_type.length === 0;
    ct.tBodies[0].replaceChildren(...r.max_context_by_cache_type.map((c) => {
      const tr = el('tr');
      tr.append(el('td', {}, `${c.cache_type}${c.flash_attn ? ' + flash attention' : ''}`),
        el('td', { 'data-field': `max_context_by_cache_type.${c.cache_type}`, 'data-value': String(c.max_context) }, tokens(c.max_context)));
      return tr;
    }));

    const off = this.$('[data-field=offload]');
    off.hidden = !r.offload;
    if (r.offload) {
      const o = r.offload;
      const moe = o.n_cpu_moe ? ` --n-cpu-moe ${o.n_cpu_moe}` : '';
      this.set('offload', o.gpu_layers, `To fit the GPU: -ngl ${o.gpu_layers}${moe} (${o.gpu_layers} of ${o.total_layers} layers on the GPU), leaving ${gib(o.host_bytes)} in system RAM${o.host_fits === false ? ', more than it has' : ''}.`);
    }
    const pool = this.$('[data-field="kv_capacity.kv_tokens"]');
    pool.hidden = !r.kv_capacity;
    if (r.kv_capacity) {
      this.set('kv_capacity.kv_tokens', r.kv_capacity.kv_tokens, `vLLM's KV pool holds ${tokens(r.kv_capacity.kv_tokens)} tokens: ${r.kv_capacity.max_concurrency.toFixed(2)} sequences at the full context at once.`);
    }
    this.$('[data-warnings]').replaceChildren(...r.warnings.map((w) => el('li', {}, w)));
    this.renderSpeed(r.speed);
    this.drawChart(curve, r);
    this.$('[data-share]').href = this.shareUrl();
  }

  /** A value with its band as data attributes (exact numbers) and as text. */
  setBand(field, v, lo, hi, digits, unit) {
    const e = this.$(`[data-field="${field}"]`);
    const none = v === null || v === undefined;
    e.dataset.value = none ? 'null' : String(v);
    e.dataset.low = lo === null || lo === undefined ? 'null' : String(lo);
    e.dataset.high = hi === null || hi === undefined ? 'null' : String(hi);
    e.textContent = fixed(v, digits, unit);
    if (!none && lo !== null && lo !== undefined && hi !== null && hi !== undefined) {
      e.append(el('small', {}, ` (${fixed(lo, digits, '')}–${fixed(hi, digits, unit)})`));
    }
  }

  /** Speed at llama-bench's default query, and a verdict per use case, as `fit --json` gives them. */
  renderSpeed(sp) {
    if (!sp) {
      // nothing fits, not even an offload: no speed to show
      for (const f of ['speed.query', 'speed.prefill_tok_s', 'speed.decode_tok_s', 'speed.ttft_s', 'speed.load_s', 'speed.joules_per_token', 'speed.tokens_per_joule', 'speed.calibration']) this.set(f, null, f === 'speed.query' ? 'none: these settings do not fit' : '–');
      this.$('[data-verdicts]')?.replaceChildren();
      this.$('[data-speed-warnings]').replaceChildren(el('li', {}, 'These settings do not fit, and no offload fits either: no speed.'));
      return;
    }
    const q = sp.query;
    this.set('speed.query', `${q.prompt_tokens}/${q.gen_tokens}`, `a ${tokens(q.prompt_tokens)}-token prompt, then ${tokens(q.gen_tokens)} tokens generated`);
    this.setBand('speed.prefill_tok_s', sp.prefill_tok_s, sp.prefill_tok_s_low, sp.prefill_tok_s_high, 0, '');
    this.setBand('speed.decode_tok_s', sp.decode_tok_s, sp.decode_tok_s_low, sp.decode_tok_s_high, 1, '');
    this.setBand('speed.ttft_s', sp.ttft_s, sp.ttft_s_low, sp.ttft_s_high, 2, ' s');
    this.set('speed.load_s', sp.load_s, fixed(sp.load_s, 1, ' s'));
    this.set('speed.joules_per_token', sp.joules_per_token, fixed(sp.joules_per_token, 2, ' J'));
    this.set('speed.tokens_per_joule', sp.tokens_per_joule, fixed(sp.tokens_per_joule, 2, ' tok/J'));
    this.$('[data-verdicts]').replaceChildren(...sp.verdicts.map((v) => {
      const u = v.use_case;
      const li = el('li', { class: `v ${v.verdict}` });
      li.append(
        el('b', {}, USE_CASES[u] || u), ' ',
        el('span', { class: 'label', 'data-field': `speed.verdicts.${u}`, 'data-value': v.verdict }, VERDICTS[v.verdict] || v.verdict),
        el('span', { class: 'at', 'data-field': `speed.verdicts.${u}.decode_tok_s`, 'data-value': String(v.decode_tok_s) },
          v.decode_tok_s === null ? '' : ` · ${fixed(v.decode_tok_s, 1, ' tok/s')}${v.ttft_s === null ? '' : `, first token in ${fixed(v.ttft_s, 1, ' s')}`}`),
      );
      if (v.reasons.length) li.append(el('span', { class: 'why', 'data-field': `speed.verdicts.${u}.reasons`, 'data-value': String(v.reasons.length) }, v.reasons.join('; ')));
      if (v.suggestions.length) li.append(el('span', { class: 'fix', 'data-field': `speed.verdicts.${u}.suggestions`, 'data-value': String(v.suggestions.length) }, `Would help: ${v.suggestions.join('; ')}`));
      return li;
    }));
    this.$('[data-speed-warnings]').replaceChildren(...sp.warnings.map((w) => el('li', {}, w)));
    this.set('speed.calibration', sp.calibration.join(', '), sp.calibration.length ? `Fitted efficiencies: ${sp.calibration.join(', ')}` : '');
  }

  drawChart(curve, r) {
    const chart = this.$('[data-chart]');
    const W = 560;
    const H = 230;
    const L = 56;
    const R = 12;
    const T = 12;
    const B = 34;
    const pts = curve.points;
    const xmax = Math.max(...pts.map((p) => p.ctx), 1);
    const ymax = Math.max(curve.usable_bytes, ...pts.map((p) => p.total_bytes), 1) * 1.08;
    const x = (c) => L + ((W - L - R) * c) / xmax;
    const y = (b) => H - B - ((H - T - B) * b) / ymax;
    const kids = [];
    const GIB = 1024 ** 3;
    const step = niceStep(ymax / GIB / 4);
    for (let g = 0; g * GIB <= ymax; g += step) {
      kids.push(svg('line', { x1: L, x2: W - R, y1: y(g * GIB), y2: y(g * GIB), class: 'grid' }));
      kids.push(svg('text', { x: L - 6, y: y(g * GIB) + 4, class: 'tick', 'text-anchor': 'end' }, `${+g.toFixed(2)} GiB`));
    }
    // contexts are counted in powers of two (32K = 32768 tokens)
    const xstep = 2 ** Math.max(0, Math.ceil(Math.log2(xmax / 5)));
    for (let c = 0; c <= xmax; c += xstep) {
      kids.push(svg('text', { x: x(c), y: H - B + 16, class: 'tick', 'text-anchor': 'middle' }, c >= 1024 ? `${+(c / 1024).toFixed(1)}K` : String(c)));
    }
    kids.push(svg('text', { x: (L + W) / 2, y: H - 4, class: 'axis', 'text-anchor': 'middle' }, 'context (tokens)'));
    kids.push(svg('line', { x1: L, x2: W - R, y1: y(curve.usable_bytes), y2: y(curve.usable_bytes), class: 'usable' }));
    kids.push(svg('text', { x: W - R, y: y(curve.usable_bytes) - 4, class: 'usable-label', 'text-anchor': 'end' }, `usable ${gib(curve.usable_bytes)}`));
    kids.push(svg('polyline', { points: pts.map((p) => `${x(p.ctx).toFixed(1)},${y(p.total_bytes).toFixed(1)}`).join(' '), class: 'need' }));
    for (const p of pts) kids.push(svg('circle', { cx: x(p.ctx).toFixed(1), cy: y(p.total_bytes).toFixed(1), r: 2.5, class: p.fits ? 'ok' : 'over' }));
    if (r.n_ctx <= xmax) {
      kids.push(svg('line', { x1: x(r.n_ctx), x2: x(r.n_ctx), y1: T, y2: H - B, class: 'now' }));
    }
    chart.replaceChildren(...kids);
  }
}

function niceStep(raw) {
  if (!(raw > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= raw) return m * p;
  return 10 * p;
}

if (!customElements.get('headroom-calculator')) {
  customElements.define('headroom-calculator', HeadroomCalculator);
}
