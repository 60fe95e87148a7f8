// The page's Web Worker: loads awsim (WebAssembly) and runs scenarios, so the page stays
// responsive; the page stops a run by ending this worker.
"use strict";

// plotters (the plot library) measures text through the page's document when compiled for the
// browser; a worker has none. This gives it the few DOM calls it makes, measuring with an
// OffscreenCanvas (or an estimate where there is none). Only plot layout depends on it: the
// numbers of a run never do.
(function giveDocument() {
  const canvas = typeof OffscreenCanvas === "function" ? new OffscreenCanvas(1, 1) : null;
  const context = canvas ? canvas.getContext("2d") : null;
  class HTMLElement {
    constructor() { this.text = ""; this.style = ""; }
    set textContent(t) { this.text = t || ""; }
    get textContent() { return this.text; }
    setAttribute(name, value) { if (name === "style") this.style = value; }
    remove() {}
    get size() {
      const px = parseFloat((/font-size:\s*([\d.]+)px/.exec(this.style) || [0, 12])[1]);
      const family = (/font-family:\s*([^;]+);/.exec(this.style) || [0, "sans-serif"])[1];
      if (context) {
        context.font = `${px}px ${family}, sans-serif`;
        return [Math.round(context.measureText(this.text).width), Math.round(px * 1.15)];
      }
      return [Math.round(this.text.length * px * 0.55), Math.round(px * 1.15)];
    }
    get offsetWidth() { return this.size[0]; }
    get offsetHeight() { return this.size[1]; }
  }
  const body = { append(node) { return node; }, appendChild(node) { return node; } };
  // currentScript: null tells wasm-bindgen's glue there is no page script to locate itself by.
  const document = { body, currentScript: null, createElement() { return new HTMLElement(); } };
  self.HTMLElement = HTMLElement;
  self.Window = self.constructor;
  self.document = document;
})();

importScripts("awsim_web.js");

const ready = wasm_bindgen({ module_or_path: "awsim_web_bg.wasm" });

self.onmessage = async (event) => {
  await ready;
  const { id, action, scenario, options, a, b, aName, bName } = event.data;
  const opts = JSON.stringify(options || {});
  let answer;
  try {
    if (action === "run") {
      let last = -1;
      const started = performance.now();
      answer = JSON.parse(wasm_bindgen.run(scenario, opts, (share) => {
        const percent = Math.floor(share * 100);
        if (percent !== last) {
          last = percent;
          self.postMessage({ id, progress: share });
        }
      }));
      answer.wall_ms = performance.now() - started;
    } else if (action === "check") {
      answer = JSON.parse(wasm_bindgen.check(scenario, opts));
    } else if (action === "compare") {
      answer = { ok: true, table: wasm_bindgen.compare(a, b, aName, bName) };
    } else if (action === "version") {
      answer = { ok: true, version: wasm_bindgen.version() };
    }
  } catch (e) {
    answer = { ok: false, error: { kind: "crash", text: String(e && e.stack || e) } };
  }
  self.postMessage({ id, done: true, answer });
};
