// @ts-check
// How the calculator writes numbers: sizes in GiB, token counts, parameter counts. Pure functions,
// shared by the view functions and tested under Node.

const GIB = 1024 ** 3;

/** Bytes as GiB with two decimals, the way the calculator shows every size. */
export function gib(/** @type {number} */ bytes) {
  return `${(bytes / GIB).toFixed(2)} GiB`;
}

/** A file size in the largest unit that keeps it at least 1. */
export function size(/** @type {number} */ bytes) {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = bytes;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i += 1;
  }
  return i === 0 ? `${v} bytes` : `${v.toFixed(1)} ${units[i]}`;
}

/** A signed margin in GiB. */
export function signedGib(/** @type {number} */ bytes) {
  return `${bytes >= 0 ? '+' : '−'}${(Math.abs(bytes) / GIB).toFixed(2)} GiB`;
}

const COUNT = new Intl.NumberFormat('en-US');
/** A token count with thousands separators, or "none" when nothing fits. */
export function tokens(/** @type {number | null | undefined} */ n) {
  return n === null || n === undefined ? 'none' : COUNT.format(n);
}

/** Parameters as "8.19B". */
export function params(/** @type {number} */ n) {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)}B`;
  return `${(n / 1e6).toFixed(0)}M`;
}

/** A number with `digits` decimals and a unit, or a dash when there is none. */
export function fixed(/** @type {number | null | undefined} */ v, /** @type {number} */ digits, /** @type {string} */ unit) {
  return v === null || v === undefined ? '–' : `${v.toFixed(digits)}${unit}`;
}
