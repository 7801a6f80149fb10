// The calculator in real headless Chromium: it sets inputs the way a person would and checks that
// the page shows the numbers `headroom fit --json` prints for the same choices (speed and its
// verdicts included), reads a dropped config.json and GGUF header, applies a loaded calibration
// profile as `--calibration` does, keeps its state in the URL,
// and works embedded in another page.
// Screenshots go to web/screenshots/ (git-ignored).
//
//   node --test web/tests/browser.test.mjs      (after web/build.sh and `cargo build -p headroom-cli`)
//
// HEADROOM_BIN overrides the CLI path; CHROMIUM the browser (default /usr/bin/chromium).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, writeFileSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { serve } from './serve.mjs';
import { sameAnswer, closeNumbers } from './same-answer.mjs';
import { calibratedProfile } from './profile.mjs';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const BIN = process.env.HEADROOM_BIN || join(REPO, 'target/debug/headroom');
const SHOTS = fileURLToPath(new URL('../screenshots/', import.meta.url));
const GIB = 1024 ** 3;
export const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run',
];

/** `headroom fit --json` for CLI flags given as { flag: value }. */
function cli(flags) {
  const args = ['fit', '--json'];
  for (const [k, v] of Object.entries(flags)) args.push(`--${k}`, String(v));
  return JSON.parse(execFileSync(BIN, args, { encoding: 'utf8' }));
}

const gib = (b) => `${(b / GIB).toFixed(2)} GiB`;
const tokens = (n) => (n === null ? 'none' : n.toLocaleString('en-US'));

// Each scenario: the CLI's flags, and the same choices made on the page. Page fields are named
// after the flags; `hardware: 'custom'` takes --custom's numbers in its own fields.
const SCENARIOS = [
  { model: 'qwen3-8b', hardware: 'rtx-3060-ti' },
  { model: 'qwen3-8b', hardware: 'rtx-3060-ti', ctx: 16384 },
  { model: 'qwen3-8b', hardware: 'rtx-3060-ti', ctx: 32768, 'cache-type-k': 'q8_0', 'cache-type-v': 'q8_0' },
  { model: 'llama-3.1-8b', hardware: 'rtx-4090', quant: 'Q8_0', ctx: 32768 },
  { model: 'llama-3.1-70b', hardware: 'rtx-3090', gpus: 2, ctx: 8192 },
  { model: 'llama-3.3-70b', hardware: 'rtx-4090', ram: 64 },
  { model: 'qwen3-30b-a3b', hardware: 'rtx-3060-ti', ram: 32 },
  { model: 'mistral-7b', hardware: 'rtx-3060', 'flash-attn': 'off' },
  { model: 'gemma-3-12b', hardware: 'rtx-4070', ctx: 16384 },
  { model: 'phi-4', hardware: 'rtx-4060-ti-16gb', quant: 'Q5_K_M' },
  { model: 'qwen2.5-14b', hardware: 'm4-pro', memory: 48 },
  { model: 'qwen2.5-32b', hardware: 'm4-max-40c', memory: 64, runtime: 'mlx' },
  { model: 'llama-3.1-8b', hardware: 'm4', runtime: 'mlx', 'kv-bits': 8, ctx: 16384 },
  { model: 'qwen3-8b', hardware: 'h100-sxm', runtime: 'vllm' },
  { model: 'llama-3.1-70b', hardware: 'h100-sxm', gpus: 2, runtime: 'vllm', 'tensor-parallel': 2, ctx: 32768 },
  { model: 'qwen3-8b', hardware: 'a100-80gb-sxm', runtime: 'vllm', 'kv-cache-dtype': 'fp8', 'gpu-memory-utilization': 0.8 },
  { model: 'gpt-oss-20b', hardware: 'h100-sxm', runtime: 'transformers' },
  { model: 'llama-3.2-3b', hardware: 'rtx-3060', runtime: 'transformers', ctx: 8192, attention: 'eager' },
  { model: 'qwen3-8b', hardware: 'ddr5-5600-2ch', memory: 64 },
  { model: 'llama-3.1-8b', hardware: 'custom', custom: [24, 1000, 80], ctx: 65536 },
  { model: 'qwen3-4b', hardware: 'rtx-3060-ti', ctx: 32768, parallel: 4, batch: 1024, ubatch: 256, 'gpu-layers': 20 },
  { model: 'mixtral-8x7b', hardware: 'rtx-4090', 'n-cpu-moe': 16, ram: 64 },
  { model: 'llama-3.3-70b', hardware: 'ryzen-ai-max-395', ctx: 32768 },
  { model: 'deepseek-r1', hardware: 'h200-sxm', gpus: 8, ctx: 16384 },
  { model: 'glm-4.7-flash', hardware: 'rtx-5090', quant: 'Q6_K' },
];

/** The CLI flags for a scenario. */
function flagsOf(s) {
  const f = {};
  for (const [k, v] of Object.entries(s)) {
    if (k === 'custom') f.custom = v.join(',');
    else if (k === 'hardware' && v === 'custom') continue;
    else f[k] = v;
  }
  return f;
}

// Fields inside "More settings", which a person opens first.
const MORE = new Set(['batch', 'ubatch', 'gpu-layers', 'parallel', 'n-cpu-moe', 'gpu-memory-utilization', 'max-num-seqs']);

/** Makes the scenario's choices on the page: typing, picking from lists, ticking boxes. */
async function choose(page, s) {
  const calc = page.locator('headroom-calculator');
  const field = (name) => calc.locator(`[name="${name}"]`);
  const type = async (name, value) => {
    await field(name).fill(String(value));
    await field(name).press('Enter');
  };
  await type('model', s.model);
  await type('hardware', s.hardware);
  if (s.custom) {
    await field('custom-memory').fill(String(s.custom[0]));
    await field('custom-bandwidth').fill(String(s.custom[1]));
    if (s.custom[2] !== undefined) await field('custom-tflops').fill(String(s.custom[2]));
  }
  if (s.memory) await field('memory').selectOption(String(s.memory));
  if (s.runtime) await field('runtime').selectOption(s.runtime);
  for (const [k, v] of Object.entries(s)) {
    if (['model', 'hardware', 'custom', 'memory', 'runtime'].includes(k)) continue;
    if (MORE.has(k) && !(await calc.locator('details').evaluate((d) => d.open))) {
      await calc.locator('details summary').click();
    }
    const input = field(k);
    const tag = await input.evaluate((e) => `${e.tagName}:${e.type}`);
    if (tag === 'SELECT:select-one') await input.selectOption(String(v));
    else if (tag === 'INPUT:checkbox') await input.setChecked(v === 'on');
    else await input.fill(String(v));
  }
}

/** The numbers the page shows, by field: the exact value and the text a person reads. */
async function shown(page, frame = page) {
  return frame.locator('headroom-calculator').evaluate((el) => {
    const out = {};
    for (const e of el.shadowRoot.querySelectorAll('[data-field]')) {
      out[e.dataset.field] = { value: e.dataset.value, text: e.textContent, low: e.dataset.low, high: e.dataset.high };
    }
    out.warnings = [...el.shadowRoot.querySelectorAll('[data-warnings] li')].map((li) => li.textContent);
    out.speedWarnings = [...el.shadowRoot.querySelectorAll('[data-speed-warnings] li')].map((li) => li.textContent);
    out.error = el.shadowRoot.querySelector('[data-field=error]').textContent;
    return out;
  });
}

/** Every number `headroom fit --json` gives that the page shows must be equal, and read alike. */
function same(page, want, label) {
  assert.equal(page.error, '', `${label}: the page shows an error`);
  const eq = (field, value, text) => {
    assert.ok(page[field], `${label}: the page has no ${field}`);
    assert.equal(page[field].value, String(value), `${label}: ${field}`);
    if (text !== undefined) assert.equal(page[field].text, text, `${label}: ${field} as shown`);
  };
  eq('fits', want.fits);
  eq('total_bytes', want.total_bytes, gib(want.total_bytes));
  eq('usable_bytes', want.usable_bytes, gib(want.usable_bytes));
  eq('margin_bytes', want.margin_bytes);
  eq('n_ctx', want.n_ctx, tokens(want.n_ctx));
  eq('max_context', want.max_context, tokens(want.max_context));
  for (const [k, v] of Object.entries(want.breakdown)) eq(`breakdown.${k}`, v, gib(v));
  for (const c of want.max_context_by_cache_type) eq(`max_context_by_cache_type.${c.cache_type}`, c.max_context, tokens(c.max_context));
  if (want.devices.length > 1) want.devices.forEach((d, i) => eq(`devices.${i}.total_bytes`, d.total_bytes, gib(d.total_bytes)));
  if (want.offload) eq('offload', want.offload.gpu_layers);
  if (want.kv_capacity) eq('kv_capacity.kv_tokens', want.kv_capacity.kv_tokens);
  assert.deepEqual(page.warnings, want.warnings, `${label}: warnings`);
  sameSpeed(page, want.speed, label);
}

const fixed = (v, d, unit) => (v === null ? '–' : `${v.toFixed(d)}${unit}`);
const band = (v, lo, hi, d, unit) => (v === null ? '–' : `${fixed(v, d, unit)}${lo === null || hi === null ? '' : ` (${fixed(lo, d, '')}–${fixed(hi, d, unit)})`}`);
const VERDICT_LABELS = { usable: 'usable', runs_but_slow: 'runs but slow', context_too_short: 'context too short', does_not_fit: 'does not fit' };

/** The speed the page shows equals the CLI's `speed` object: each number, its band, and every verdict. */
function sameSpeed(page, sp, label) {
  if (sp === null) {
    // nothing fits, not even an offload: the CLI gives no speed, and the page shows none
    assert.equal(page['speed.query'].text, 'none: these settings do not fit', `${label}: speed.query`);
    for (const f of ['speed.prefill_tok_s', 'speed.decode_tok_s', 'speed.ttft_s', 'speed.load_s']) {
      assert.equal(page[f].value, 'null', `${label}: ${f} is ${page[f].value} where the CLI gives no speed`);
      assert.equal(page[f].text, '–', `${label}: ${f} as shown`);
    }
    return;
  }
  assert.ok(sp, `${label}: the CLI gives no speed object`);
  // numbers to the last few bits (same-answer.mjs says why), text exactly
  const num = (shown, want, what) => {
    const v = shown === 'null' ? null : Number(shown);
    assert.ok(closeNumbers(v, want), `${label}: ${what} is ${shown}, the CLI says ${want}`);
  };
  const eq = (field, value, text) => {
    assert.ok(page[field], `${label}: the page has no ${field}`);
    if (typeof value === 'number' || value === null) num(page[field].value, value, field);
    else assert.equal(page[field].value, String(value), `${label}: ${field}`);
    if (text !== undefined) assert.equal(page[field].text, text, `${label}: ${field} as shown`);
  };
  const withBand = (field, v, lo, hi, d, unit) => {
    eq(field, v, band(v, lo, hi, d, unit));
    num(page[field].low, lo, `${field} low`);
    num(page[field].high, hi, `${field} high`);
  };
  withBand('speed.prefill_tok_s', sp.prefill_tok_s, sp.prefill_tok_s_low, sp.prefill_tok_s_high, 0, '');
  withBand('speed.decode_tok_s', sp.decode_tok_s, sp.decode_tok_s_low, sp.decode_tok_s_high, 1, '');
  withBand('speed.ttft_s', sp.ttft_s, sp.ttft_s_low, sp.ttft_s_high, 2, ' s');
  eq('speed.load_s', sp.load_s, fixed(sp.load_s, 1, ' s'));
  eq('speed.joules_per_token', sp.joules_per_token, fixed(sp.joules_per_token, 2, ' J'));
  assert.equal(sp.verdicts.length, 4, `${label}: a verdict per use case`);
  for (const v of sp.verdicts) {
    const f = `speed.verdicts.${v.use_case}`;
    eq(f, v.verdict, VERDICT_LABELS[v.verdict]);
    eq(`${f}.decode_tok_s`, v.decode_tok_s);
    if (v.reasons.length) eq(`${f}.reasons`, v.reasons.length, v.reasons.join('; '));
    else assert.equal(page[`${f}.reasons`], undefined, `${label}: ${f} has no reasons`);
    if (v.suggestions.length) eq(`${f}.suggestions`, v.suggestions.length, `Would help: ${v.suggestions.join('; ')}`);
    else assert.equal(page[`${f}.suggestions`], undefined, `${label}: ${f} has no suggestions`);
  }
  assert.deepEqual(page.speedWarnings, sp.warnings, `${label}: speed warnings`);
}

let server;
let base;
let context;

before(async () => {
  assert.ok(existsSync(BIN), `${BIN} is missing: run cargo build -p headroom-cli`);
  assert.ok(existsSync(join(REPO, 'web/pkg/headroom_wasm_bg.wasm')), 'web/pkg is missing: run web/build.sh');
  mkdirSync(SHOTS, { recursive: true });
  ({ server, url: base } = await serve());
  // a fresh profile each run
  context = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), 'headroom-chromium-')), {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: CHROMIUM_ARGS,
    viewport: { width: 1280, height: 900 },
  });
  // everything is local: a request anywhere else is a bug
  await context.route((url) => !url.href.startsWith(base), (route) => route.abort());
});

after(async () => {
  await context?.close();
  server?.close();
});

async function open(path) {
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(new URL(path, base).href);
  await page.waitForFunction(() => window.__headroomFirstRender !== undefined || document.querySelector('headroom-calculator')?.shadowRoot?.querySelector('[data-field=error]')?.textContent);
  page.errors = errors;
  return page;
}

for (const [i, s] of SCENARIOS.entries()) {
  const label = Object.entries(flagsOf(s)).map(([k, v]) => `--${k} ${v}`).join(' ');
  test(`page = CLI: ${label}`, async () => {
    const want = cli(flagsOf(s));
    const page = await open('index.html');
    await choose(page, s);
    same(await shown(page), want, label);
    // and the whole answer the page drew from is the CLI's, field for field (see same-answer.mjs)
    sameAnswer(await page.locator('headroom-calculator').evaluate((e) => e.result), want, label);
    await page.screenshot({ path: join(SHOTS, `scenario-${String(i + 1).padStart(2, '0')}.png`), fullPage: true });
    // the state is in the URL: opening the link shows the same answer
    if (i % 4 === 0) {
      await page.waitForFunction(() => !document.querySelector('headroom-calculator').urlPending);
      const link = page.url();
      assert.ok(new URL(link).searchParams.get('model') === s.model, `${label}: URL ${link}`);
      const again = await open(link);
      same(await shown(again), want, `${label} (from its link)`);
      await again.close();
    }
    assert.deepEqual(page.errors, []);
    await page.close();
  });
}

test('a dropped config.json is read and gives the CLI answer for that config', async () => {
  const rec = JSON.parse(readFileSync(join(REPO, 'data/models/qwen3-8b.json'), 'utf8'));
  const dir = mkdtempSync(join(tmpdir(), 'headroom-config-'));
  mkdirSync(join(dir, 'Qwen3-8B'));
  const text = JSON.stringify(rec.config, null, 2);
  writeFileSync(join(dir, 'Qwen3-8B/config.json'), text);
  const want = cli({ model: join(dir, 'Qwen3-8B'), hardware: 'rtx-4070', ctx: 16384 });
  rmSync(dir, { recursive: true });

  const page = await open('index.html?hardware=rtx-4070&ctx=16384');
  await drop(page, 'config.json', Buffer.from(text));
  await page.locator('headroom-calculator [data-field=file]').waitFor({ state: 'visible' });
  const got = await shown(page);
  same(got, want, 'config.json');
  assert.match(got['model-info'].text, /36 layers/);
  await page.screenshot({ path: join(SHOTS, 'config-drop.png'), fullPage: true });
  await page.close();
});

/** Drops a file on the calculator's drop zone, as dragging it from a file manager does. */
async function drop(page, name, bytes) {
  const dt = await page.evaluateHandle(({ name, data }) => {
    const d = new DataTransfer();
    d.items.add(new File([new Uint8Array(data)], name));
    return d;
  }, { name, data: [...bytes] });
  await page.locator('headroom-calculator [data-drop]').dispatchEvent('drop', { dataTransfer: dt });
}

const GGUF = join(REPO, 'tests/fixtures/formats/tiny-llama-q4_k_m.gguf');
test('a dropped GGUF file is read from its header and gives the CLI answer for that file', async () => {
  const want = cli({ model: GGUF, hardware: 'rtx-3060', ctx: 2048 });
  const page = await open('index.html?hardware=rtx-3060&ctx=2048');
  await drop(page, 'tiny-llama-q4_k_m.gguf', readFileSync(GGUF));
  await page.locator('headroom-calculator [data-field=file]').waitFor({ state: 'visible' });
  const got = await shown(page);
  same(got, want, 'GGUF');
  // tests/fixtures/formats/README.md: general.file_type = Q4_K_M
  assert.equal(want.quant, 'Q4_K_M');
  assert.match(got.fits.text, new RegExp(want.quant));
  assert.match(got['model-info'].text, /2 layers/);
  await page.screenshot({ path: join(SHOTS, 'gguf-drop.png'), fullPage: true });
  // typing a catalog name again leaves the file
  const calc = page.locator('headroom-calculator');
  await calc.locator('[name=model]').fill('qwen3-8b');
  await calc.locator('[name=model]').press('Enter');
  assert.equal(await calc.locator('[data-field=file]').isHidden(), true);
  assert.equal((await shown(page)).total_bytes.value, String(cli({ model: 'qwen3-8b', hardware: 'rtx-3060', ctx: 2048 }).total_bytes));

  // A large file: only the header is read, through Blob.slice, never the whole file.
  const big = await open('index.html?hardware=rtx-3060&ctx=2048');
  const fixture = [...readFileSync(GGUF)];
  const read = await big.evaluate(async (data) => {
    const header = new Uint8Array(data);
    const file = new File([header, new Uint8Array(64 * 1024 * 1024)], 'big.gguf');
    const seen = [];
    const slice = Blob.prototype.slice;
    Blob.prototype.slice = function (...a) {
      seen.push(a);
      return slice.apply(this, a);
    };
    const d = new DataTransfer();
    d.items.add(file);
    const calc = document.querySelector('headroom-calculator');
    const done = new Promise((ok) => calc.addEventListener('headroom-file', ok, { once: true }));
    calc.shadowRoot.querySelector('[data-drop]').dispatchEvent(new DragEvent('drop', { dataTransfer: d, bubbles: true, cancelable: true }));
    await done;
    Blob.prototype.slice = slice;
    return { seen, size: file.size, bytesRead: Number(calc.shadowRoot.querySelector('[data-field=file]').dataset.value) };
  }, fixture);
  assert.ok(read.seen.length >= 1, 'the file was not sliced');
  assert.ok(read.seen.every(([start, end]) => start === 0 && end <= 1024 * 1024), JSON.stringify(read.seen));
  assert.ok(read.bytesRead <= 1024 * 1024 && read.bytesRead < read.size);
  same(await shown(big), want, 'GGUF header of a large file');
  await big.close();
  await page.close();
});

test('the example host page embeds the element and the iframe', async () => {
  const page = await open('example-host.html');
  const el = cli({ model: 'qwen3-8b', hardware: 'rtx-3060-ti', ctx: 8192 });
  same(await shown(page), el, 'embedded element');
  const frame = page.frameLocator('#framed');
  await frame.locator('headroom-calculator [data-field=total_bytes][data-value]').waitFor();
  const framed = await frame.locator('headroom-calculator').evaluate((e) => e.shadowRoot.querySelector('[data-field=total_bytes]').dataset.value);
  const want = cli({ model: 'llama-3.1-8b', hardware: 'm4-pro-48gb', runtime: 'mlx', ctx: 32768 });
  assert.equal(framed, String(want.total_bytes));
  // its link opens the calculator's own page with the same choices
  const share = await page.locator('#embedded').evaluate((e) => e.shadowRoot.querySelector('[data-share]').href);
  assert.equal(new URL(share).pathname, '/index.html');
  const shared = await open(share);
  same(await shown(shared), el, 'embedded element, from its link');
  await shared.close();
  // the element follows its attributes, as a host page script would change them
  await page.locator('#embedded').evaluate((e) => e.setAttribute('ctx', '16384'));
  same(await shown(page), cli({ model: 'qwen3-8b', hardware: 'rtx-3060-ti', ctx: 16384 }), 'after setAttribute');
  await page.screenshot({ path: join(SHOTS, 'example-host.png'), fullPage: true });
  assert.deepEqual(page.errors, []);
  await page.close();
});

test('a loaded calibration profile gives the CLI answer with --calibration, is removable and stays out of the URL', async () => {
  const { dir, path, text } = calibratedProfile(BIN);
  try {
    const s = { model: 'llama-3-8b', hardware: 'rtx-3090' };
    const want = cli({ ...s, calibration: path });
    const page = await open(`index.html?model=${s.model}&hardware=${s.hardware}`);
    const calc = page.locator('headroom-calculator');
    const input = calc.locator('[data-profile-input]');
    await input.setInputFiles({ name: 'rtx-3090.json', mimeType: 'application/json', buffer: Buffer.from(text) });
    await calc.locator('[data-field=profile]').waitFor({ state: 'visible' });
    await page.waitForFunction(() => document.querySelector('headroom-calculator').result?.speed.warnings.some((w) => w.startsWith('calibration profile applied')));
    const got = await shown(page);
    same(got, want, 'with the profile');
    sameAnswer(await calc.evaluate((e) => e.result), want, 'with the profile');
    assert.ok(got.speedWarnings.includes('calibration profile applied: fitted on rtx-3090 with llama.cpp; speed'), got.speedWarnings.join('; '));
    assert.match(got.profile.text, /rtx-3090\.json/);
    await page.screenshot({ path: join(SHOTS, 'calibration-profile.png'), fullPage: true });
    // a profile is a local file: the link to the result does not carry it
    await page.waitForFunction(() => !document.querySelector('headroom-calculator').urlPending);
    assert.ok(!/calibration|profile/.test(page.url()), page.url());
    // another device: the core's error, naming both
    await calc.locator('[name=hardware]').fill('rtx-4090');
    await calc.locator('[name=hardware]').press('Enter');
    assert.match(await calc.locator('[data-field=error]').textContent(), /is for rtx-3090 with llama\.cpp, not rtx-4090 with llama\.cpp/);
    // removed: the shipped answer again
    await calc.locator('[data-clear-profile]').click();
    assert.equal(await calc.locator('[data-field=error]').textContent(), '');
    assert.ok(await calc.locator('[data-field=profile]').isHidden());
    same(await shown(page), cli({ ...s, hardware: 'rtx-4090' }), 'profile removed');
    assert.deepEqual(page.errors, []);
    await page.close();
  } finally {
    rmSync(dir, { recursive: true });
  }
});

test('bad input on the page shows the core error instead of breaking the page', async () => {
  const page = await open('index.html');
  const calc = page.locator('headroom-calculator');
  await calc.locator('[name=ctx]').fill('999999999');
  const err = await calc.locator('[data-field=error]').textContent();
  assert.match(err, /ctx/);
  await calc.locator('[name=ctx]').fill('4096');
  assert.equal(await calc.locator('[data-field=error]').textContent(), '');
  assert.equal(await calc.locator('[data-field=total_bytes]').getAttribute('data-value'), String(cli({ model: 'qwen3-8b', hardware: 'rtx-3060-ti', ctx: 4096 }).total_bytes));
  await page.close();
});

test('a core that traps is replaced and the page goes on', async () => {
  const page = await open('index.html');
  const calc = page.locator('headroom-calculator');
  const restarted = calc.evaluate((el) => new Promise((ok) => el.addEventListener('headroom-restart', ok, { once: true })));
  // stand-in for a trap: the next call fails the way a wasm `unreachable` does
  await calc.evaluate((el) => {
    const real = el.core.evaluate;
    el.core = { ...el.core, evaluate: () => { throw new WebAssembly.RuntimeError('unreachable'); } };
    el.trappedCore = real;
  });
  await calc.locator('[name=ctx]').fill('8192');
  await restarted;
  assert.match(await calc.locator('[data-field=error]').textContent(), /unreachable/);
  await calc.locator('[name=ctx]').fill('16384');
  assert.equal(await calc.locator('[data-field=error]').textContent(), '');
  assert.equal(await calc.locator('[data-field=total_bytes]').getAttribute('data-value'), String(cli({ model: 'qwen3-8b', hardware: 'rtx-3060-ti', ctx: 16384 }).total_bytes));
  assert.deepEqual(page.errors, []);
  await page.close();
});
