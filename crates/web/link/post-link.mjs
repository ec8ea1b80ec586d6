// Prepares the linked wasm for wasm-opt (in place; scripts/build-web.sh runs it):
// 1. drops the custom sections but the names: wasm-bindgen's descriptors (~200 KB, read only by
//    its CLI, which pkg/ does not use; they come with the core's getrandom) and producers;
// 2. makes the two entry points of std's panic and allocation-failure machinery trap at once
//    (their body becomes `unreachable`), so wasm-opt drops the formatting, the panic hook and
//    the payload code behind them (~1.6 KB gzipped). What a page sees is unchanged: with
//    `panic = "abort"` on wasm32-unknown-unknown a panic or failed allocation already ended in
//    the same trap, and the message it formatted went nowhere (there is no stderr). std comes
//    precompiled, so `-Zbuild-std` with `panic_immediate_abort` (which does the same) is not an
//    option on stable.
// binaryen.js is the npm `binaryen` package (a www/ devDependency, the wasm-opt build-web.sh uses).
// Usage: node post-link.mjs FILE
import { readFileSync, writeFileSync } from 'node:fs';
import binaryen from '../../../www/node_modules/binaryen/index.js';

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
  const custom = wasm[i] === 0; // section id 0; its name comes first
  const [nameLen, name] = custom ? leb(body) : [0, 0];
  if (!custom || wasm.toString('latin1', name, name + nameLen) === 'name') kept.push(wasm.subarray(i, body + size));
  i = body + size;
}

// Symbol names (Rust's v0 mangling, as std is built): core::panicking::panic_fmt, where every
// panic goes, and alloc::alloc::handle_alloc_error.
const traps = [/4core9panicking9panic_fmt$/, /5alloc5alloc18handle_alloc_error$/];
const m = binaryen.readBinary(Buffer.concat(kept));
m.setFeatures(binaryen.Features.All);
let found = 0;
for (let i = 0; i < m.getNumFunctions(); i++) {
  const f = m.getFunctionByIndex(i);
  const { name, base } = binaryen.getFunctionInfo(f);
  if (!base && traps.some((t) => t.test(name))) {
    binaryen.Function.setBody(f, m.unreachable());
    found++;
  }
}
// A build without names, or renamed symbols, would silently keep the machinery: fail instead.
if (found !== traps.length) throw new Error(`post-link: found ${found} of ${traps.length} functions to trap (no name section?)`);
writeFileSync(file, m.emitBinary());
m.dispose();
