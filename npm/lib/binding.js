'use strict';

// Loads the native addon built from crates/node (see scripts/build-addon.js).

const path = require('path');

const candidates = [
  path.join(__dirname, '..', 'ferrosocket.node'),
  path.join(
    __dirname,
    '..',
    `ferrosocket.${process.platform}-${process.arch}.node`
  )
];

let binding;
let lastError;
for (const file of candidates) {
  try {
    binding = require(file);
    break;
  } catch (err) {
    lastError = err;
  }
}

if (!binding) {
  const err = new Error(
    'ferrosocket: the native addon is not built; run `npm run build` in the ' +
      `package directory (${lastError && lastError.message})`
  );
  err.cause = lastError;
  throw err;
}

module.exports = binding;
