'use strict';

// Loads the native addon (crates/node). First the in-repo build that `npm run build`
// leaves next to package.json, then the prebuilt one from this platform's package
// (an optionalDependency of the published package, napi-rs layout: npm/npm/<platform>/).
// Nothing is built on the user's machine.

const fs = require('fs');
const path = require('path');
const { describeHost } = require('./platform');

const pkgDir = path.join(__dirname, '..');
const pkg = require('../package.json');

function load() {
  const host = describeHost();
  const devBuild = path.join(pkgDir, `${pkg.napi.binaryName}.${host.name}.node`);
  const platformPackage = `${pkg.name}-${host.name}`;
  const failures = [];

  if (fs.existsSync(devBuild)) {
    try {
      return require(devBuild);
    } catch (err) {
      failures.push(`${devBuild}: ${err.message}`);
    }
  }
  try {
    return require(platformPackage);
  } catch (err) {
    const missing = err.code === 'MODULE_NOT_FOUND' && err.message.includes(`'${platformPackage}'`);
    failures.push(`${platformPackage}: ${missing ? 'not installed' : err.message}`);
  }
  throw loadError(host, platformPackage, failures);
}

function loadError(host, platformPackage, failures) {
  const where = `${host.platform}/${host.arch}${host.libc ? ` (${host.libc})` : ''}`;
  const build = 'build it from source (needs Rust): in a checkout of ferrosocket, `cd npm && npm install && npm run build`.';
  // The published manifest lists the platform packages; a checkout has none (scripts/pack.js adds them).
  const prebuilt = Object.keys(pkg.optionalDependencies || {}).map((n) => n.slice(pkg.name.length + 1));
  let advice;
  if (prebuilt.includes(host.name)) {
    advice =
      `Its prebuilt addon is the optional dependency ${platformPackage}: install it ` +
      `(\`npm install ${platformPackage}@${pkg.version}\`; do not install with --omit=optional or --no-optional), or ${build}`;
  } else if (prebuilt.length > 0) {
    advice = `No prebuilt addon exists for ${host.name} (there are: ${prebuilt.join(', ')}); ${build}`;
  } else {
    advice = `This is a source checkout: ${build}`;
  }
  const err = new Error(
    `ferrosocket: no native addon for ${where}, napi-rs platform "${host.name}". ${advice}\n  ` +
      failures.join('\n  ')
  );
  err.code = 'ERR_FERROSOCKET_NO_ADDON';
  return err;
}

module.exports = load();
