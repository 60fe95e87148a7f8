#!/usr/bin/env bash
# Builds the classroom page into web/dist/: awsim's core compiled to WebAssembly, bound with
# wasm-bindgen, beside the static page, every lesson and example embedded.
# Needs: rustup's wasm32-unknown-unknown target (added here), and wasm-bindgen-cli of exactly the
# version of the wasm-bindgen crate in web/Cargo.lock (installed here with `cargo install
# --locked` when missing: the two must match, or the bindings do not load).
set -euo pipefail
cd "$(dirname "$0")"

rustup target add wasm32-unknown-unknown >/dev/null 2>&1 || true
version=$(grep -A1 '^name = "wasm-bindgen"$' Cargo.lock | sed -n 's/^version = "\(.*\)"$/\1/p')
if [ -z "$version" ]; then
  echo "build.sh: no wasm-bindgen in web/Cargo.lock" >&2
  exit 1
fi
if ! command -v wasm-bindgen >/dev/null 2>&1 || [ "$(wasm-bindgen --version | awk '{print $2}')" != "$version" ]; then
  echo "build.sh: installing wasm-bindgen-cli $version" >&2
  # Its own lock file first; where the registry no longer serves a version it pins (seen
  # here: webpki-roots 1.0.11), the newest compatible ones. The CLI's version is exact either way.
  cargo install --locked wasm-bindgen-cli --version "$version" ||
    cargo install wasm-bindgen-cli --version "$version"
fi

cargo build --locked --release --target wasm32-unknown-unknown --lib
rm -rf dist
mkdir -p dist
wasm-bindgen --target no-modules --no-typescript --out-dir dist \
  target/wasm32-unknown-unknown/release/awsim_web.wasm
cp static/* dist/
# Every lesson and example, embedded in one script, with its header comment as the lesson and
# README's lesson table's "what to look at".
python3 embed_scenarios.py --readme=../README.md ../scenarios/lessons ../scenarios/examples > dist/scenarios.js
# The service worker's cache is named by the content it caches: a new build replaces it.
stamp=$(cat dist/*.js dist/*.wasm dist/*.html dist/*.css | sha256sum | cut -c1-16)
sed -i "s/@BUILD@/$stamp/" dist/sw.js
echo "build.sh: wrote $(pwd)/dist ($(du -sh dist | cut -f1))"
