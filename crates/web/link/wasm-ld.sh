#!/usr/bin/env bash
# The linker for pkg/'s wasm (scripts/build-web.sh sets it): rust-lld, exporting only the
# module's own `link_*` functions. rustc exports every #[no_mangle] symbol of every crate, and
# the core's getrandom (its `js` backend) brings wasm-bindgen's ~1,500 descriptor exports,
# which would keep their closures, tables and imports alive; this module uses none of them.
set -euo pipefail
args=()
while [ $# -gt 0 ]; do
  if [ "$1" = --export ] && [ $# -gt 1 ]; then
    case $2 in link_*) args+=("$1" "$2") ;; esac
    shift 2
    continue
  fi
  case $1 in
    --export=*) ;;
    *) args+=("$1") ;;
  esac
  shift
done
lld="$(rustc --print sysroot)/lib/rustlib/$(rustc -vV | sed -n 's/^host: //p')/bin/rust-lld"
exec "$lld" "${args[@]}"
