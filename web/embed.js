// <headroom-calculator>: the calculator as one custom element, for this site and for any page
// that embeds it with one script tag:
//
//   <script type="module" src="https://your.host/headroom/embed.js"></script>
//   <headroom-calculator model="qwen3-8b" hardware="rtx-3060-ti"></headroom-calculator>
//
// Attributes use the names of `headroom fit`'s and `headroom check`'s flags (FIELDS in state.js).
// With the `url-state` attribute the element also reads and writes the page's URL, so a result is
// a link. This module wires the parts: state.js (state and requests), view.js and chart.js (what
// is shown, as data), dom.js (into elements), schedule.js (one recompute per frame),
// core-client.js (the wasm core in a Worker), styles.js (the shared stylesheet).

import { FIELDS, DEFAULTS, stateFromParams, paramsFromState, requestFromState, claimsFromState, withField } from './state.js';
import { readModelFile, readProfileFile } from './files.js';
import { size } from './format.js';
import * as view from './view.js';
import { chartBase, chartNow } from './chart.js';
import { fill, fillFrom, setField } from './dom.js';
import { FrameScheduler } from './schedule.js';
import { CoreClient } from './core-client.js';
import { adoptStyles } from './styles.js';
import { TEMPLATE } from './template.js';

const CURVE_POINTS = 20;
/** How long changes pause before the page's URL is rewritten. */
const URL_DELAY_MS = 250;

/** Makes a drop zone take files dropped on it, and open its file picker on Enter or Space. */
function dropZone(zone, input, onFile) {
  zone.addEventListener('dragover', (e) => {
    e.preventDefault();
    zone.classList.add('over');
  });
  zone.addEventListener('dragleave', () => zone.classList.remove('over'));
  zone.addEventListener('drop', (e) => {
    e.preventDefault();
    zone.classList.remove('over');
    const f = e.dataTransfer && e.dataTransfer.files[0];
    if (f) onFile(f);
  });
  zone.addEventListener('keydown', (e) => {
    if (e.target !== zone || (e.key !== 'Enter' && e.key !== ' ')) return;
    e.preventDefault();
    input.click();
  });
  input.addEventListener('change', () => {
    const f = input.files[0];
    if (f) onFile(f);
    input.value = '';
  });
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
    this.catalog = null;
    this.result = null;
    this.checkResult = null;
    this.lastRecomputeMs = null;
    this.lastCoreMs = null;
    /** The curve the chart shows (its JSON) and how many of its elements are not the marker. */
    this.chartKey = '';
    this.chartBaseLength = 0;
    this.scheduler = new FrameScheduler((cb) => requestAnimationFrame(cb), () => this.recompute());
  }

  get urlState() {
    return this.hasAttribute('url-state');
  }

  async connectedCallback() {
    if (this.started) return;
    this.started = true;
    const root = this.shadowRoot;
    root.innerHTML = TEMPLATE;
    const styled = adoptStyles(root).catch((e) => this.showError(`the calculator's styles did not load: ${e.message}`));
    this.$ = (sel) => root.querySelector(sel);
    this.$$ = (sel) => [...root.querySelectorAll(sel)];
    let s = { ...DEFAULTS };
    for (const f of FIELDS) {
      const v = this.getAttribute(f);
      if (v !== null && v !== '') s[f] = v;
    }
    if (this.urlState) s = { ...s, ...stateFromParams(new URLSearchParams(location.search)) };
    // attributes changed while the core loads are already in this.state; they win
    this.state = { ...s, ...this.state };
    this.bind();
    this.writeInputs();
    try {
      performance.mark('headroom:load');
      this.core = new CoreClient();
      [this.catalog, this.version] = await Promise.all([this.core.call('catalog'), this.core.call('version')]);
      performance.mark('headroom:catalog');
    } catch (e) {
      this.showError(`the calculator could not start: ${e.message || e}`);
      return;
    }
    await styled;
    this.fillLists();
    this.writeInputs();
    this.$('[data-version]').textContent = this.version;
    if (this.urlState) this.writeUrl();
    this.scheduler.request();
    await this.scheduler.settled();
    this.dispatchEvent(new CustomEvent('headroom-ready', { bubbles: true, composed: true }));
  }

  attributeChangedCallback(name, _old, value) {
    // before connection the attributes are read when it connects; after, every change is kept,
    // whether or not the core has loaded, and the next recompute uses it
    if (!this.started) return;
    this.state = withField(this.state, name, value);
    this.writeInputs();
    if (this.catalog) this.scheduler.request();
  }

  /** Resolves once every change asked for is computed and drawn (and the core has loaded). */
  async settled() {
    while (!this.catalog || this.scheduler.waiting || this.scheduler.running) {
      if (!this.catalog) await new Promise((ok) => this.addEventListener('headroom-render', ok, { once: true }));
      await this.scheduler.settled();
    }
  }

  fillLists() {
    const c = this.catalog;
    const models = this.$('#hr-models');
    const opt = (value, text) => {
      const o = document.createElement('option');
      o.value = value;
      o.textContent = text;
      return o;
    };
    models.replaceChildren(...c.models.map((m) => opt(m.id, `${m.name}${m.moe ? ' (MoE)' : ''} · ${m.hf_repo}`)));
    const hw = this.$('#hr-hardware');
    hw.replaceChildren(opt('custom', 'Custom device: enter memory, bandwidth, TFLOPS'), ...c.hardware.map((h) => {
      const mem = h.memory_gib ? `${h.memory_gib} GiB` : h.memory_options_gib.length ? `${h.memory_options_gib.join('/')} GiB` : 'RAM of your choice';
      return opt(h.id, `${h.name} · ${mem} · ${h.bandwidth_gbs} GB/s`);
    }));
    this.$('select[name=runtime]').replaceChildren(...c.runtimes.map((r) => opt(r, r)));
    this.$('select[name=quant]').append(...c.quants.map((q) => opt(q, q)));
    for (const which of ['cache-type-k', 'cache-type-v']) {
      this.$(`select[name=${which}]`).append(...c.cache_types.filter((t) => t !== 'f16').map((t) => opt(t, t)));
    }
  }

  /** The catalog device a hardware field names, when it names exactly one. */
  deviceOf(text) {
    const t = (text || '').trim().toLowerCase();
    return this.catalog ? this.catalog.hardware.find((h) => h.id === t) || null : null;
  }

  writeInputs() {
    const s = this.state;
    for (const input of this.$$('form [name]')) {
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
      const option = (value, text) => {
        const o = document.createElement('option');
        o.value = value;
        o.textContent = text;
        return o;
      };
      const first = option('', d.memory_gib === null ? 'choose…' : `${d.memory_gib} GiB`);
      sel.replaceChildren(first, ...sizes.filter((g) => g !== d.memory_gib).map((g) => option(String(g), `${g} GiB`)));
      sel.value = s.memory ?? '';
      if (sel.selectedIndex < 0) sel.selectedIndex = 0;
      memLabel.hidden = false;
    } else {
      memLabel.hidden = true;
    }
  }

  bind() {
    const onValue = (e) => {
      const t = e.target;
      if (!t.name || t.name === 'file') return;
      const next = t.type === 'checkbox' ? (t.checked ? 'on' : 'off') : t.value;
      if ((this.state[t.name] ?? '') === next && !(t.name === 'model' && this.file)) return;
      this.state = withField(this.state, t.name, next);
      if (t.name === 'model') this.file = null;
      if (t.name === 'hardware') this.state = withField(this.state, 'memory', null);
      // the input already shows its value; a new device resets the memory picker, a new model the file
      this.changed(t.name === 'hardware' || t.name === 'model');
    };
    for (const form of this.$$('form')) {
      form.addEventListener('submit', (e) => e.preventDefault());
      // Text fields with suggestions commit on change (Enter, blur, a pick); the rest on every input.
      form.addEventListener('change', onValue);
      form.addEventListener('input', (e) => {
        if (e.target.type === 'number') onValue(e);
      });
    }
    dropZone(this.$('[data-drop]'), this.$('input[name=file]'), (f) => this.loadFile(f));
    dropZone(this.$('[data-profile-drop]'), this.$('[data-profile-input]'), (f) => this.loadProfile(f));
    this.$('[data-clear-profile]').addEventListener('click', () => {
      this.profile = null;
      this.scheduler.request();
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
      const got = await readModelFile((bytes) => this.core.call('read_gguf', bytes), f);
      const info = await this.core.call('describeModel', got.model);
      this.file = { model: got.model, label: got.label, info, bytesRead: got.bytesRead, size: f.size };
      if ('gguf' in got.model) this.state = withField(this.state, 'quant', null);
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
      this.scheduler.request();
    } catch (e) {
      this.showError(e.message || String(e));
    }
  }

  writeUrl() {
    const q = paramsFromState(this.state).toString();
    const keep = new URLSearchParams(location.search).get('embed') === '1' ? 'embed=1&' : '';
    history.replaceState(null, '', `?${keep}${q}`);
  }

  /**
   * After a change: the URL follows once changes pause for URL_DELAY_MS, the inputs show
   * the state (`refill` when the state changed other than by the input itself), then the answer
   * at the next frame.
   */
  changed(refill = true) {
    const now = performance.now();
    if (this.urlState) {
      // history.replaceState costs Chromium about 2 ms: written once typing pauses, not per key
      clearTimeout(this.urlTimer);
      this.urlPending = true;
      this.urlTimer = setTimeout(() => {
        this.urlPending = false;
        this.writeUrl();
      }, URL_DELAY_MS);
    }
    if (refill) this.writeInputs();
    else this.updateVisibility();
    if (this.catalog) this.scheduler.request(now);
  }

  showError(msg) {
    const e = this.$('[data-field=error]');
    e.textContent = msg;
    e.hidden = !msg;
    this.$('.result').classList.toggle('failed', !!msg);
  }

  /** After a wasm trap the Worker has a fresh instance; the page and its state stay. */
  restarted(e) {
    this.showError(`the calculation stopped on this input (${e.message}); change an input to go on`);
    this.dispatchEvent(new CustomEvent('headroom-restart', { bubbles: true, composed: true }));
  }

  /**
   * Asks the core in the Worker for the current state's answer and draws it (run by the frame
   * scheduler). `lastRecomputeMs` is from the change that asked for it (the input event, the
   * attribute set) to the drawn page, `lastCoreMs` the core's part in the Worker.
   */
  async recompute() {
    const t0 = this.scheduler.runFor ?? performance.now();
    let out;
    try {
      const request = requestFromState(this.state, this.file && this.file.model);
      if (this.profile) request.calibration = this.profile.text;
      let claims = null;
      let claimsError = null;
      try {
        claims = claimsFromState(this.state);
      } catch (e) {
        claimsError = e.message;
      }
      out = await this.core.call('evaluate', { request, points: CURVE_POINTS, claims });
      const { result, curve } = JSON.parse(out.answer);
      out.result = result;
      out.curve = curve;
      if (claimsError) out.checkError = claimsError;
    } catch (e) {
      this.result = null;
      this.checkResult = null;
      this.renderProfile();
      this.showError(e.message || String(e));
      fill(this.$('[data-check]'), view.checkView(null, null));
      if (e.trap) this.restarted(e);
      this.lastRecomputeMs = performance.now() - t0;
      this.dispatchEvent(new CustomEvent('headroom-render', { detail: { error: e.message }, bubbles: true, composed: true }));
      return;
    }
    this.showError('');
    this.result = out.result;
    this.checkResult = out.check;
    this.render(out);
    this.lastRecomputeMs = performance.now() - t0;
    this.lastCoreMs = out.ms;
    if (window.__headroomFirstRender === undefined) window.__headroomFirstRender = performance.now();
    this.dispatchEvent(new CustomEvent('headroom-render', { detail: { result: out.result, check: out.check, ms: this.lastRecomputeMs }, bubbles: true, composed: true }));
  }

  /** The loaded profile's name, shown whether or not the answer came (a wrong one gives the error). */
  renderProfile() {
    const ps = this.$('[data-field=profile]');
    ps.hidden = !this.profile;
    ps.dataset.value = this.profile ? this.profile.label : '';
    if (this.profile) this.$('[data-profile-label]').textContent = view.profileLine(this.profile);
  }

  /**
   * The chart: its grid and curve drawn again only when the curve changed (it runs to the trained
   * length, so typing a context within it moves only the marker), the marker always.
   */
  renderChart(curve, r) {
    const svg = this.$('[data-chart]');
    const key = JSON.stringify(curve);
    if (key !== this.chartKey || svg.childNodes.length < this.chartBaseLength) {
      const base = chartBase(curve);
      fill(svg, base);
      this.chartKey = key;
      this.chartBaseLength = base.length;
    }
    fillFrom(svg, this.chartBaseLength, chartNow(curve, r));
  }

  render({ result: r, curve, info, check, checkError }) {
    const root = this.shadowRoot;
    this.renderProfile();
    const fileStatus = this.$('[data-field=file]');
    fileStatus.hidden = !this.file;
    if (this.file) {
      const f = this.file;
      this.$('[data-file-label]').textContent = `${f.label}: read ${size(f.bytesRead)} of ${size(f.size)}`;
      fileStatus.dataset.value = String(f.bytesRead);
    }
    setField(root, view.modelInfo(this.file ? this.file.info : info));
    this.$('[data-field=fits]').className = `verdict ${r.fits ? 'yes' : 'no'}`;
    for (const f of view.fitFields(r)) setField(root, f);
    fill(this.$('[data-bar]'), view.bar(r));
    fill(this.$('[data-legend]'), view.legend(r));
    const devices = this.$('[data-devices]');
    devices.hidden = r.devices.length < 2;
    // a hidden table is filled when it shows again
    if (!devices.hidden) fill(devices.tBodies[0], view.deviceRows(r));
    const ct = this.$('[data-cache-types]');
    ct.hidden = r.max_context_by_cache_type.length === 0;
    if (!ct.hidden) fill(ct.tBodies[0], view.cacheTypeRows(r));
    fill(this.$('[data-warnings]'), view.warnings(r));
    for (const f of view.speedFields(r.speed)) setField(root, f);
    fill(this.$('[data-verdicts]'), view.verdictItems(r.speed));
    fill(this.$('[data-speed-warnings]'), view.speedWarnings(r.speed));
    this.renderChart(curve, r);
    fill(this.$('[data-check]'), view.checkView(check, checkError));
    this.$('[data-share]').href = this.shareUrl();
  }
}

if (!customElements.get('headroom-calculator')) {
  customElements.define('headroom-calculator', HeadroomCalculator);
}
