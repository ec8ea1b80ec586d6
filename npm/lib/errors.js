'use strict';

// Turns the core's error descriptions into the error objects ws emits or throws.

const kStatusCode = Symbol('status-code');

const CLASSES = { RangeError, TypeError, Error, SyntaxError };

/**
 * @param {{ closeCode: number, code: string, jsClass: string, message: string }} info
 * @param {Function} [stackFrom] frame to hide from the stack
 * @return {Error}
 */
function fromCore(info, stackFrom) {
  const Class = CLASSES[info.jsClass] || Error;
  const err = new Class(info.message);
  if (stackFrom) Error.captureStackTrace(err, stackFrom);
  if (info.code) err.code = info.code;
  err[kStatusCode] = info.closeCode;
  return err;
}

/**
 * Error for a misuse reported by the core (thrown, as ws throws).
 */
function misuse(info) {
  const Class = CLASSES[info.jsClass] || Error;
  const err = new Class(info.message);
  return err;
}

/** The core's code for a message `maxBackpressure` refused. */
const BACKPRESSURE_LIMIT = 'ERR_WS_BACKPRESSURE_LIMIT';

/** The error a dropped message's send callback gets (its code is the core's). */
function droppedError(info) {
  const err = new Error(info.message);
  err.code = info.code;
  return err;
}

module.exports = { fromCore, misuse, droppedError, BACKPRESSURE_LIMIT, kStatusCode };
