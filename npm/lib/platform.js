'use strict';

// Names this machine the way napi-rs names its prebuilt addons ("platformArchABI":
// linux-x64-gnu, darwin-arm64, win32-x64-msvc, ...), so the loader can find
// `ferrosocket.<name>.node` and the package `ferrosocket-<name>`.

const fs = require('fs');

// Linux is the only platform with two C libraries to tell apart. ldd is a script
// (glibc) or a link to the musl loader, and says which; Node's diagnostic report
// knows the glibc version when /usr/bin/ldd cannot be read.
function linuxLibc() {
  try {
    return fs.readFileSync('/usr/bin/ldd', 'latin1').includes('musl') ? 'musl' : 'glibc';
  } catch {
    const report = process.report && process.report.getReport ? process.report.getReport() : null;
    return report && report.header && report.header.glibcVersionRuntime ? 'glibc' : 'musl';
  }
}

/**
 * @param {{ platform?: string, arch?: string, libc?: string | null }} [host]
 * @returns {{ platform: string, arch: string, libc: string | null, name: string }}
 */
function describeHost(host = {}) {
  const platform = host.platform || process.platform;
  const arch = host.arch || process.arch;
  const libc = platform === 'linux' ? host.libc || linuxLibc() : null;
  let abi = null;
  if (platform === 'linux') {
    const musl = libc === 'musl';
    abi = arch === 'arm' ? (musl ? 'musleabihf' : 'gnueabihf') : musl ? 'musl' : 'gnu';
  } else if (platform === 'win32') {
    abi = 'msvc';
  } else if (platform === 'android' && arch === 'arm') {
    abi = 'eabi';
  }
  const name = abi ? `${platform}-${arch}-${abi}` : `${platform}-${arch}`;
  return { platform, arch, libc, name };
}

module.exports = { describeHost };
