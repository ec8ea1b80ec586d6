// Drops every custom section of a wasm file (in place): wasm-bindgen's descriptors (~200 KB,
// read only by its CLI, which pkg/ does not use), names, producers. Usage: node strip-sections.mjs FILE
import { readFileSync, writeFileSync } from 'node:fs';

const file = process.argv[2];
const wasm = readFileSync(file);
const leb = (i) => {
  let n = 0;
  for (let shift = 0; ; shift += 7) {
    const b = wasm[i++];
    n += (b & 0x7f) * 2 ** shift;
    if (b < 0x80) return [n, i];
  }
};
const kept = [wasm.subarray(0, 8)]; // magic and version
for (let i = 8; i < wasm.length;) {
  const [size, body] = leb(i + 1);
  if (wasm[i] !== 0) kept.push(wasm.subarray(i, body + size)); // section id 0: custom
  i = body + size;
}
writeFileSync(file, Buffer.concat(kept));
