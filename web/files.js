// @ts-check
// Reading what a person drops on the page, bounded: a GGUF file's header through Blob.slice (never
// the whole file), a config.json, a calibration profile.

/** The largest prefix of a GGUF file read to find its header. */
export const MAX_GGUF_HEADER_BYTES = 128 * 1024 * 1024;
/** config.json files are a few KiB; the core refuses anything past 4 MiB. */
export const MAX_CONFIG_BYTES = 4 * 1024 * 1024;
/** A calibration profile larger than this is refused, as the CLI refuses it (MAX_PROFILE_BYTES). */
export const MAX_PROFILE_BYTES = 4 * 1024 * 1024;

/**
 * Reads a dropped model file without loading it whole: a GGUF file's header through Blob.slice,
 * growing the slice only as far as the header says it needs (bounded), or a config.json's text.
 * `readGguf` is the facade's `read_gguf` (in the Worker, so it returns a promise).
 * @param {(bytes: Uint8Array) => Promise<import('./pkg/headroom_wasm.js').GgufRead>} readGguf
 * @param {File} file
 */
export async function readModelFile(readGguf, file) {
  const name = file.name || 'model';
  if (/\.gguf$/i.test(name)) {
    let len = Math.min(file.size, 1024 * 1024);
    for (;;) {
      const bytes = new Uint8Array(await file.slice(0, len).arrayBuffer());
      const got = await readGguf(bytes);
      if (got.model) return { model: got.model, label: name, bytesRead: len };
      const need = got.need_bytes;
      if (need === undefined || !(need > len) || need > MAX_GGUF_HEADER_BYTES || len >= file.size) {
        throw new Error(`${name}: the GGUF header is larger than ${MAX_GGUF_HEADER_BYTES} bytes or the file is cut short`);
      }
      len = Math.min(file.size, Math.max(need, len * 2));
    }
  }
  if (file.size > MAX_CONFIG_BYTES) {
    throw new Error(`${name}: ${file.size} bytes is too large for a config.json`);
  }
  const text = await file.slice(0, MAX_CONFIG_BYTES).text();
  return { model: { config_json: text }, label: name, bytesRead: file.size };
}

/** A calibration profile file's text, for a request's `calibration` (the core checks it). */
export async function readProfileFile(/** @type {File} */ file) {
  const name = file.name || 'profile.json';
  if (file.size > MAX_PROFILE_BYTES) {
    throw new Error(`${name}: larger than 4 MiB, not a calibration profile`);
  }
  const text = await file.slice(0, MAX_PROFILE_BYTES).text();
  return { text, label: name, bytes: file.size };
}
