#!/usr/bin/env bash
# The classroom page's test in a real browser (issue 23), as CI runs it: installs Debian's
# Chromium when missing (as root, with apt-get), builds the page (web/build.sh: the wasm target
# and wasm-bindgen-cli of the locked version, installed there when missing), installs
# playwright-core from web/package-lock.json (npm ci; it drives the installed Chromium and never
# downloads a browser), builds awsim's release binary (as `cargo test --release` does) and runs web/tests/browser.mjs.
#
# Exit codes: 0 passed; 1 failed; 77 skipped (printed why: no Chromium and no way to install it,
# no Node.js, or no wasm32 target for rustup to add).
set -euo pipefail
cd "$(dirname "$0")/../.."
SKIP=77
skip() { echo "web/tests/run.sh: SKIPPED: $*"; exit $SKIP; }
say() { echo "web/tests/run.sh: $*"; }

chromium=${CHROMIUM:-/usr/bin/chromium}
if [ ! -x "$chromium" ]; then
  [ "$(id -u)" = 0 ] || skip "Chromium is not installed at $chromium and installing it needs root"
  command -v apt-get >/dev/null || skip "Chromium is not installed and there is no apt-get to install it"
  say "installing chromium (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium; } >/tmp/awsim-chromium-apt.log 2>&1; then
    tail -5 /tmp/awsim-chromium-apt.log
    skip "apt-get could not install chromium (log: /tmp/awsim-chromium-apt.log)"
  fi
fi
command -v node >/dev/null && command -v npm >/dev/null || skip "Node.js and npm are not installed"
# The page is awsim compiled to WebAssembly: rustup must have (or fetch) the target.
rustup target add wasm32-unknown-unknown >/dev/null 2>&1 ||
  rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown ||
  skip "rustup could not add the wasm32-unknown-unknown target (is static.rust-lang.org reachable?)"

# awsim's binary as `cargo test --release` builds it (with the tests' dependency features, so
# after the test command this is a no-op, where `cargo build` would compile the crate again).
cargo test --locked --release --no-run --test web >/dev/null
web/build.sh
cd web
npm ci --no-audit --no-fund --loglevel=error
CI=true CHROMIUM="$chromium" node tests/browser.mjs
