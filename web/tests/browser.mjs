// The classroom page in a real browser: Debian's Chromium, driven by playwright-core, loading
// web/dist/ from a static server on localhost. It picks a lesson, runs it and checks that the
// page's summary.json equals `awsim run`'s byte for byte; breaks the scenario and checks the
// error is underlined at its line; runs a three-point sweep; replays a trace the page embeds;
// checks the page then works offline. Screenshots go to web/test-output/. Needs web/build.sh's dist/ and awsim's
// release binary (cargo build --release). Without Chromium it says so and is skipped (under
// CI=true that is a failure: CI installs it).
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { extname, join, dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const web = resolve(here, "..");
const root = resolve(web, "..");
const dist = join(web, "dist");
const shots = join(web, "test-output");
const chromiumPath = process.env.CHROMIUM || "/usr/bin/chromium";
const lesson = process.env.LESSON || "cooldown";

let passed = 0;
let failed = 0;
function check(name, ok, detail = "") {
  if (ok) {
    passed++;
    console.log(`ok - ${name}`);
  } else {
    failed++;
    console.log(`FAILED - ${name}${detail ? `\n  ${detail}` : ""}`);
  }
}

if (!existsSync(chromiumPath)) {
  console.log(`SKIPPED: the browser test needs Chromium at ${chromiumPath} (apt-get install -y chromium); it was not run.`);
  process.exit(process.env.CI === "true" ? 1 : 0);
}
for (const needed of [join(dist, "index.html"), join(root, "target/release/awsim")]) {
  if (!existsSync(needed)) {
    console.log(`FAILED: ${needed} is missing (run web/build.sh and cargo build --release first)`);
    process.exit(1);
  }
}
const { chromium } = await import("playwright-core");

// The native summary of the lesson.
const scratch = mkdtempSync(join(tmpdir(), "awsim-browser-"));
const lessonFile = join(root, "scenarios/lessons", `${lesson}.toml`);
const native = spawnSync(join(root, "target/release/awsim"),
  ["run", "--quiet", "--out", join(scratch, "out"), lessonFile], { encoding: "utf8" });
if (native.status !== 0) {
  console.log(`FAILED: awsim run ${lessonFile}: ${native.stderr}`);
  process.exit(1);
}
const nativeSummary = readFileSync(join(scratch, "out", "summary.json"), "utf8");

// A static server for dist/, on loopback only.
const types = { ".html": "text/html", ".js": "text/javascript", ".css": "text/css",
  ".wasm": "application/wasm", ".json": "application/json" };
let serving = true;
const server = createServer((req, res) => {
  if (!serving) {
    req.socket.destroy();
    return;
  }
  const path = decodeURIComponent(new URL(req.url, "http://localhost").pathname);
  const file = join(dist, path === "/" ? "index.html" : path);
  if (!file.startsWith(dist) || !existsSync(file)) {
    res.writeHead(404).end();
    return;
  }
  res.writeHead(200, { "content-type": types[extname(file)] || "application/octet-stream" });
  res.end(readFileSync(file));
});
await new Promise((ok) => server.listen(0, "127.0.0.1", ok));
const url = `http://127.0.0.1:${server.address().port}/`;

mkdirSync(shots, { recursive: true });
const browser = await chromium.launchPersistentContext(join(scratch, "profile"), {
  executablePath: chromiumPath,
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  viewport: { width: 1280, height: 1000 },
});
const page = browser.pages()[0] || await browser.newPage();
const problems = [];
page.on("pageerror", (e) => problems.push(String(e)));
// What the page and its worker print: shown when a step fails.
const consoleLines = [];
page.on("console", (m) => consoleLines.push(`${m.type()}: ${m.text()}`));
page.on("worker", (w) => w.on("console", (m) => consoleLines.push(`worker ${m.type()}: ${m.text()}`)));
const timeout = 300_000;

try {
  await page.goto(`${url}#lesson=${lesson}`);
  await page.waitForSelector("body[data-ready=true]", { timeout: 60_000 });
  const lessonText = await page.textContent("#lesson-text");
  check("the lesson's header comment is shown", lessonText.length > 40 && readFileSync(lessonFile, "utf8").includes(lessonText.split("\n")[0]));
  const options = await page.$$eval("#lesson option", (os) => os.length);
  check("the picker lists every lesson and example", options >= 20, `${options} options`);

  // Run the lesson; the page's summary is `awsim run`'s.
  await page.click("#run");
  await page.waitForFunction(() => document.getElementById("status").textContent.startsWith("Done"), null, { timeout });
  const summary = await page.$eval("#table", (t) => t.dataset.summary);
  check(`the page's summary of ${lesson} equals awsim run's summary.json`, summary === nativeSummary,
    `page: ${summary.slice(0, 200)}…\nnative: ${nativeSummary.slice(0, 200)}…`);
  const plots = await page.$$eval("#plots img", (imgs) => imgs.map((i) => i.naturalWidth));
  check("the plots are drawn", plots.length >= 2 && plots.every((w) => w > 100), `widths ${plots}`);
  const wall = await page.$eval("#status", (s) => s.textContent);
  console.log(`# ${wall}`);
  await page.screenshot({ path: join(shots, "run.png"), fullPage: true });
  // The lesson's "what to look at" (README's lesson table): its figures mark the summary.
  const figures = await page.$$eval("#lesson-look .figure-link", (bs) => bs.map((b) => b.textContent));
  const figure = figures.find((f) => !f.includes("*") && nativeSummary.includes(`"${f}"`));
  if (figure) await page.click(`#lesson-look .figure-link >> text="${figure}"`);
  const markedLines = figure ? await page.$$eval("#table mark.look", (ms) => ms.map((m) => m.textContent)) : [];
  check("the lesson's figures to look at mark the summary's lines", figures.length >= 3 && markedLines.length >= 1 && markedLines.every((l) => l.includes(figure)),
    `figures ${figures.join(", ")}; ${figure} marked ${markedLines.length} lines`);

  // A second run with another seed: the comparison appears.
  await page.fill("#seed", "7");
  await page.click("#run");
  await page.waitForFunction(() => !document.getElementById("compare").hidden, null, { timeout });
  const compare = await page.textContent("#compare");
  check("a second run is compared with the first", compare.includes("previous run") && compare.includes("this run"), compare.slice(0, 300));
  await page.fill("#seed", "");

  // Break the scenario: the error is underlined at its line and listed with it.
  const text = await page.inputValue("#source");
  const lines = text.split("\n");
  const at = lines.findIndex((l) => /^duration\s*=/.test(l));
  lines[at] = 'duration = "ten minutes"';
  await page.fill("#source", lines.join("\n"));
  await page.waitForSelector("#errors li", { timeout: 30_000 });
  const error = await page.textContent("#errors li");
  check("a broken line's error names its line", error.startsWith(`line ${at + 1}, column 12`), error);
  const marked = await page.$eval("#highlight", (h) => {
    const m = h.querySelector("mark.err");
    return m ? h.innerHTML.slice(0, h.innerHTML.indexOf("<mark")).split("\n").length : 0;
  });
  check("the error is underlined on that line", marked === at + 1, `underlined line ${marked}, expected ${at + 1}`);
  await page.screenshot({ path: join(shots, "error.png"), fullPage: true });

  // Back to the lesson; a sweep of three values of the group's `max` (from half to twice it:
  // every value is valid, where `min` or `desired` would cross each other and be refused).
  await page.click("#reset");
  await page.waitForFunction(() => document.querySelectorAll("#errors li").length === 0, null, { timeout: 30_000 });
  const source = await page.inputValue("#source");
  const numberLine = source.split("\n").findIndex((l) => /^\s*max\s*=\s*\d+\s*(#.*)?$/.test(l));
  if (numberLine < 0) throw new Error(`${lesson} has no \`max = N\` line to sweep`);
  const offset = source.split("\n").slice(0, numberLine).join("\n").length + 1;
  await page.$eval("#source", (s, o) => { s.focus(); s.setSelectionRange(o, o); s.dispatchEvent(new Event("click")); }, offset);
  await page.fill("#sweep-steps", "3");
  await page.click("#sweep-run");
  // Done or refused: a refused run's message is the check's detail, not a timeout.
  await page.waitForFunction(() => /^Sweep (done|stopped)|failed/.test(document.getElementById("status").textContent), null, { timeout });
  const sweepStatus = await page.$eval("#status", (s) => s.textContent);
  check("the sweep finishes", sweepStatus.startsWith("Sweep done"), sweepStatus);
  const rows = (await page.textContent("#sweep-table")).trim().split("\n").length - 1;
  check("a one-parameter sweep runs and is plotted", rows >= 2 && await page.$("#sweep-plot img") !== null, `${rows} rows`);
  await page.screenshot({ path: join(shots, "sweep.png"), fullPage: true });

  // A scenario that replays a trace: the page hands the run the trace it embeds (the browser
  // has no disk), and the summary is still awsim run's.
  const traced = join(root, "scenarios/examples/trace_replay.toml");
  const tracedNative = spawnSync(join(root, "target/release/awsim"),
    ["run", "--quiet", "--out", join(scratch, "traced"), traced], { encoding: "utf8" });
  await page.goto(`${url}#lesson=trace_replay`);
  await page.waitForFunction(() => document.getElementById("source").value.includes("process = \"trace\""), null, { timeout: 30_000 });
  await page.click("#run");
  await page.waitForFunction(() => /^Done|errors/.test(document.getElementById("status").textContent), null, { timeout });
  const tracedSummary = await page.$eval("#table", (t) => t.dataset.summary);
  check("a trace replay runs in the page with its embedded trace, as awsim run does",
    tracedNative.status === 0 && tracedSummary === readFileSync(join(scratch, "traced", "summary.json"), "utf8"),
    `status: ${await page.$eval("#status", (s) => s.textContent)}`);

  // Offline: with the server answering nothing, the page reloads from its service worker.
  await page.waitForFunction(() => navigator.serviceWorker.controller !== null || navigator.serviceWorker.ready, null, { timeout: 30_000 });
  await page.evaluate(() => navigator.serviceWorker.ready);
  serving = false;
  await page.reload();
  await page.waitForSelector("body[data-ready=true]", { timeout: 60_000 });
  check("the page works offline once loaded", true);

  check("no script error on the page", problems.length === 0, problems.join("\n"));
} catch (e) {
  const status = await page.$eval("#status", (s) => s.textContent).catch(() => "(no status)");
  check("the browser test ran to its end", false,
    [String(e && e.stack || e), `status: ${status}`, ...problems, ...consoleLines].join("\n  "));
  await page.screenshot({ path: join(shots, "failure.png"), fullPage: true }).catch(() => {});
} finally {
  await browser.close();
  server.close();
  rmSync(scratch, { recursive: true, force: true });
}
console.log(`browser: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
