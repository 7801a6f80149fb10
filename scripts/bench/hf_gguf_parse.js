// Parses one GGUF header with the npm package @huggingface/gguf, once per process, the way
// `headroom inspect FILE` does: inspect_vs_hf_gguf.sh times this whole process against headroom.
// Usage: NODE_PATH=<dir>/node_modules node hf_gguf_parse.js FILE
"use strict";
const { gguf } = require("@huggingface/gguf");

const file = process.argv[2];
if (!file) {
  console.error("usage: node hf_gguf_parse.js FILE.gguf");
  process.exit(2);
}
gguf(file, { allowLocalFile: true }).then(
  ({ metadata, tensorInfos }) => {
    // One line, so the process does the same work (parse, then print a summary) each run.
    console.log(`${metadata["general.architecture"]}: ${tensorInfos.length} tensors`);
  },
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
