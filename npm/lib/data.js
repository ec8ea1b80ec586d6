'use strict';

// Normalises what users pass to send()/ping()/pong() into what the engine takes
// (a string or a Buffer), without copying when it can be avoided.

const hasBlob = typeof Blob !== 'undefined';

function isBlob(value) {
  return (
    hasBlob &&
    typeof value === 'object' &&
    value !== null &&
    typeof value.arrayBuffer === 'function' &&
    typeof value.type === 'string' &&
    typeof value.stream === 'function' &&
    (value[Symbol.toStringTag] === 'Blob' || value[Symbol.toStringTag] === 'File')
  );
}

/**
 * @param {*} data
 * @return {(String|Buffer)}
 */
function toSendable(data) {
  if (typeof data === 'string' || Buffer.isBuffer(data)) return data;
  if (data instanceof ArrayBuffer) return Buffer.from(data);
  if (ArrayBuffer.isView(data)) {
    return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  }
  return Buffer.from(data);
}

function byteLength(data) {
  if (typeof data === 'string') return Buffer.byteLength(data);
  if (isBlob(data)) return data.size;
  return toSendable(data).length;
}

/** close()'s code argument as the core takes it (anything else is an invalid code). */
function closeCodeArg(code) {
  if (code === undefined) return undefined;
  // Anything that is not an integer is an invalid code: let the core reject it.
  return typeof code === 'number' && Number.isInteger(code) && code >= 0
    ? Math.min(code, 0xffffffff)
    : 0;
}

module.exports = { byteLength, closeCodeArg, isBlob, toSendable };
