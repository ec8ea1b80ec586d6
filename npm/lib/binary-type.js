'use strict';

// A received binary message in the form `binaryType` asks for (ws's
// 'nodebuffer', 'arraybuffer', 'fragments', 'blob'). `ends` are the end offsets of
// the message's non-empty frames when it came in more than one (the engine's
// FRAME_ENDS event), else null.

function toBinaryType(buf, type, ends) {
  switch (type) {
    case 'arraybuffer':
      if (buf.byteOffset === 0 && buf.byteLength === buf.buffer.byteLength) {
        return buf.buffer;
      }
      return buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
    case 'fragments':
      return fragments(buf, ends);
    case 'blob':
      return new Blob([buf]);
    default:
      return buf;
  }
}

/** One Buffer per non-empty frame, as ws's receiver collects them. */
function fragments(buf, ends) {
  if (ends === null) return buf.length === 0 ? [] : [buf];
  const out = new Array(ends.length);
  let start = 0;
  for (let i = 0; i < ends.length; i++) {
    out[i] = buf.subarray(start, ends[i]);
    start = ends[i];
  }
  return out;
}

module.exports = { toBinaryType };
