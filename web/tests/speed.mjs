// The browser against the command line on the same run (issue 23: at most 2× slower): M/M/8
// (scenarios/examples/mmc.toml) for DURATION of simulated time (default 20h, about 5 M
// customers), in the page in Debian's Chromium and with `awsim run`, alternately, ROUNDS times
// (default 3); prints the best wall time of each and their ratio. The page's time is the run in
// its worker (simulation, summary, time series and SVG plots); the command line's is the whole
// process, which also writes the files and the report. A measurement, run by hand, not in CI:
//   cargo build --release && web/build.sh && (cd web && npm ci) && node web/tests/speed.mjs
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { extname, join, dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const web = resolve(here, "..");
const root = resolve(web, "..");
const dist = join(web, "dist");
const chromiumPath = process.env.CHROMIUM || "/usr/bin/chromium";
const duration = process.env.DURATION || "20h";
const rounds = Number(process.env.ROUNDS || 3);
for (const needed of [chromiumPath, join(dist, "index.html"), join(root, "target/release/awsim")]) {
  if (!existsSync(needed)) {
    console.log(`speed: ${needed} is missing (see the comment at the top of this script)`);
    process.exit(1);
  }
}
const { chromium } = await import("playwright-core");

const types = { ".html": "text/html", ".js": "text/javascript", ".css": "text/css",
  ".wasm": "application/wasm" };
const server = createServer((req, res) => {
  const path = decodeURIComponent(new URL(req.url, "http://localhost").pathname);
  const file = join(dist, path === "/" ? "index.html" : path);
  if (!file.startsWith(dist) || !existsSync(file)) return res.writeHead(404).end();
  res.writeHead(200, { "content-type": types[extname(file)] || "application/octet-stream" });
  res.end(readFileSync(file));
});
await new Promise((ok) => server.listen(0, "127.0.0.1", ok));
const scratch = mkdtempSync(join(tmpdir(), "awsim-speed-"));
const browser = await chromium.launchPersistentContext(join(scratch, "profile"), {
  executablePath: chromiumPath, headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
const page = browser.pages()[0] || await browser.newPage();
await page.goto(`http://127.0.0.1:${server.address().port}/#lesson=mmc`);
await page.waitForSelector("body[data-ready=true]", { timeout: 60_000 });
await page.fill("#duration", duration);

const pageTimes = [];
const nativeTimes = [];
let events = 0;
for (let round = 0; round < rounds; round++) {
  await page.click("#run");
  await page.waitForFunction(() => /^Done|errors/.test(document.getElementById("status").textContent),
    null, { timeout: 600_000 });
  const status = await page.$eval("#status", (s) => s.textContent);
  const m = /([\d,]+) events in ([\d.]+) s/.exec(status);
  if (!m) throw new Error(`the page did not run: ${status}`);
  events = Number(m[1].replace(/,/g, ""));
  pageTimes.push(Number(m[2]));

  const out = join(scratch, `out${round}`);
  const started = process.hrtime.bigint();
  const native = spawnSync(join(root, "target/release/awsim"),
    ["run", "--quiet", "--out", out, "--duration", duration, join(root, "scenarios/examples/mmc.toml")]);
  nativeTimes.push(Number(process.hrtime.bigint() - started) / 1e9);
  if (native.status !== 0) throw new Error(`awsim run failed: ${native.stderr}`);
}
await browser.close();
server.close();
rmSync(scratch, { recursive: true, force: true });

const best = (xs) => Math.min(...xs);
console.log(`M/M/8, ${duration} simulated, ${events.toLocaleString("en")} events, best of ${rounds}:`);
console.log(`  browser (Chromium, WebAssembly): ${best(pageTimes).toFixed(2)} s  [${pageTimes.map((t) => t.toFixed(2)).join(", ")}]`);
console.log(`  native (awsim run):              ${best(nativeTimes).toFixed(2)} s  [${nativeTimes.map((t) => t.toFixed(2)).join(", ")}]`);
console.log(`  browser / native: ${(best(pageTimes) / best(nativeTimes)).toFixed(2)}`);
