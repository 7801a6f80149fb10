// The calculator's markup: the inputs, the result, and the "check a number" panel. No inline
// handlers or styles (strict Content-Security-Policy hosts refuse them); the parts named with
// `part` can be styled from the host page (`headroom-calculator::part(result)`).

export const TEMPLATE = `
<div class="hr" part="calculator">
  <form class="inputs" part="inputs" autocomplete="off">
    <fieldset class="model">
      <legend>Model</legend>
      <label>Search the catalog
        <input name="model" list="hr-models" type="search" spellcheck="false" placeholder="qwen3-8b, llama 3.1, gemma…">
      </label>
      <datalist id="hr-models"></datalist>
      <div class="drop" part="drop" tabindex="0" role="button" aria-describedby="hr-drop-help" data-drop>
        <span id="hr-drop-help">…or drop a <b>.gguf</b> (only its header is read) or a <b>config.json</b>, or press Enter to choose one</span>
        <input type="file" name="file" tabindex="-1" accept=".gguf,.json,application/json" aria-label="Model file">
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
      <label>Operating system
        <select name="os"><option value="">not given</option><option value="linux">Linux</option><option value="windows">Windows</option><option value="wsl2">WSL2</option><option value="macos">macOS</option></select></label>
    </fieldset>
    <fieldset class="run">
      <legend>Runtime</legend>
      <label>Runtime <select name="runtime"></select></label>
      <label data-runtime="llama.cpp ollama lmstudio">Backend
        <select name="backend"><option value="">the device's own</option><option value="cuda">CUDA</option><option value="vulkan">Vulkan</option><option value="rocm">ROCm</option><option value="metal">Metal</option><option value="sycl">SYCL</option><option value="cpu">CPU only</option></select></label>
      <label>Quantization <select name="quant"><option value="">runtime default</option></select></label>
      <label>Context (tokens) <input name="ctx" type="number" min="0" step="256" placeholder="runtime default"></label>
      <label data-runtime="llama.cpp ollama lmstudio">KV cache K <select name="cache-type-k"><option value="">f16</option></select></label>
      <label data-runtime="llama.cpp ollama lmstudio">KV cache V <select name="cache-type-v"><option value="">f16</option></select></label>
      <label data-runtime="llama.cpp ollama lmstudio" class="check"><input name="flash-attn" type="checkbox"> Flash attention</label>
      <label data-runtime="vllm">KV cache dtype
        <select name="kv-cache-dtype"><option value="">auto</option><option value="fp8">fp8</option></select></label>
      <label data-runtime="vllm">Tensor parallel <input name="tensor-parallel" type="number" min="1" max="64" step="1" placeholder="1"></label>
      <label data-runtime="mlx">KV bits
        <select name="kv-bits"><option value="">model dtype</option><option value="8">8</option><option value="4">4</option></select></label>
      <label data-runtime="transformers">Attention
        <select name="attention"><option value="">sdpa</option><option value="eager">eager</option></select></label>
      <details>
        <summary>More settings</summary>
        <label data-runtime="llama.cpp ollama lmstudio transformers">Batch <input name="batch" type="number" min="1" step="1" placeholder="default"></label>
        <label data-runtime="llama.cpp lmstudio">Micro-batch <input name="ubatch" type="number" min="1" step="1" placeholder="512"></label>
        <label data-runtime="llama.cpp ollama lmstudio">GPU layers <input name="gpu-layers" type="number" min="0" step="1" placeholder="all"></label>
        <label data-runtime="llama.cpp ollama lmstudio">Parallel sequences <input name="parallel" type="number" min="1" step="1" placeholder="1"></label>
        <label data-runtime="llama.cpp ollama lmstudio">MoE layers with experts on the CPU <input name="n-cpu-moe" type="number" min="0" step="1" placeholder="0"></label>
        <label data-runtime="vllm">GPU memory utilization <input name="gpu-memory-utilization" type="number" min="0.05" max="1" step="0.01" placeholder="0.9"></label>
        <label data-runtime="vllm">Max sequences <input name="max-num-seqs" type="number" min="1" step="1" placeholder="256"></label>
      </details>
    </fieldset>
    <fieldset class="profile">
      <legend>Calibration</legend>
      <div class="drop" part="drop" tabindex="0" role="button" aria-describedby="hr-profile-help" data-profile-drop>
        <span id="hr-profile-help">Drop a calibration profile (the JSON <b>headroom calibrate</b> writes) to use your own measurements, or press Enter to choose one</span>
        <input type="file" data-profile-input tabindex="-1" accept=".json,application/json" aria-label="Calibration profile">
      </div>
      <p class="file-status" data-field="profile" hidden>
        <span data-profile-label></span> <button type="button" data-clear-profile>Remove the profile</button>
      </p>
      <p class="note">A profile is a local file: it stays in this browser and is not part of the link to a result.</p>
    </fieldset>
  </form>
  <section class="result" part="result" aria-live="polite">
    <p class="error" role="alert" data-field="error" hidden></p>
    <div class="verdict" part="verdict" data-field="fits"></div>
    <dl class="numbers" part="numbers">
      <div><dt>Needs</dt><dd data-field="total_bytes"></dd></div>
      <div><dt>Usable</dt><dd data-field="usable_bytes"></dd></div>
      <div><dt>Margin</dt><dd data-field="margin_bytes"></dd></div>
      <div><dt>Context</dt><dd data-field="n_ctx"></dd></div>
      <div><dt>Max context</dt><dd data-field="max_context"></dd></div>
    </dl>
    <div class="bar" part="bar" data-bar role="img" aria-label="memory breakdown"></div>
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
    <figure class="chart" part="chart">
      <svg data-chart viewBox="0 0 560 230" role="img" aria-label="memory against context"></svg>
      <figcaption>Memory against context; the dashed line is the usable memory.</figcaption>
    </figure>
    <section class="speed" part="speed" data-speed>
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
  <aside class="check" part="check" aria-labelledby="hr-check-title">
    <h3 id="hr-check-title">Check a number</h3>
    <p class="note">What you saw or were told, for the setting on the left (<code>headroom check</code>): a llama-bench run is a 512-token prompt, then 128 tokens generated.</p>
    <form class="claims" autocomplete="off">
      <label>Generation (tok/s) <input name="tok-s" type="number" min="0" step="any"></label>
      <label>Prompt (tok/s) <input name="prompt-tok-s" type="number" min="0" step="any"></label>
      <label>Time to first token (s) <input name="ttft" type="number" min="0" step="any"></label>
      <label>VRAM in use (GiB: nvidia-smi's MiB / 1024) <input name="vram-gb" type="number" min="0" step="any"></label>
      <label>It runs at all
        <select name="fits"><option value="">not claimed</option><option value="yes">yes</option><option value="no">no</option></select></label>
    </form>
    <div class="check-result" aria-live="polite" data-check></div>
  </aside>
</div>`;
