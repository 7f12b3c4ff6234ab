// The web page at / in a real browser (Issue 13): Debian's chromium, headless, driven by
// playwright-core (no browser download). Against the real `snug serve` on a tiny synthetic model
// with an API key: the page loads under its Content-Security-Policy with no console errors, asks
// for the key once, a message streams an answer (several updates, then done), the status view's
// charts draw from /metrics. Reasoning folding and Markdown sanitizing are checked on a crafted
// stream (the test answers the page's request itself): a random-weight model never writes
// Harmony's analysis channel, so the real server cannot be made to send `reasoning`.
// Screenshots go to --out. `--no-web` turns the page off.
//   node web_test.mjs --snug PATH/snug --out DIR [--chromium /usr/bin/chromium]
import assert from "node:assert/strict";
import {existsSync, mkdirSync} from "node:fs";
import {dirname, join} from "node:path";
import {fileURLToPath} from "node:url";

import {makeModel, parseArgs, startServer, stopServer} from "../api/serve_helpers.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const args = parseArgs("node web_test.mjs --snug PATH --out DIR", ["snug", "out"],
                       {chromium: "/usr/bin/chromium"});
if (!existsSync(join(here, "node_modules", "playwright-core"))) {
  console.error("FAIL: tests/web/node_modules/playwright-core is missing: run scripts/setup.sh");
  process.exit(1);
}
const {chromium} = await import("playwright-core");
mkdirSync(args.out, {recursive: true});
const started = performance.now();
const log = (text) => console.log(`[${((performance.now() - started) / 1000).toFixed(1)} s] ${text}`);

const KEY = "sk-snug-web";
const model = makeModel(args.snug, args.out, "gemma3-tiny");
const server = await startServer(args.snug, model,
                                 ["--parallel", "2", "--ctx", "512", "--max-queue", "4", "-t", "1",
                                  "--max-body-bytes", "65536"], {env: {SNUG_API_KEY: KEY}});
const browser = await chromium.launch({executablePath: args.chromium, args: ["--no-sandbox"]});
let failure = null;
try {
  const page = await browser.newPage({viewport: {width: 1100, height: 800}});
  const consoleErrors = [];
  page.on("console", (message) => {
    if (message.type() === "error") consoleErrors.push(message.text());
  });
  page.on("pageerror", (error) => consoleErrors.push(`page error: ${error.message}`));

  // Loads under its CSP; the API answers 401 until the key is given, once.
  const response = await page.goto(`${server.base}/`);
  assert.equal(response.status(), 200);
  const csp = response.headers()["content-security-policy"] ?? "";
  assert.match(csp, /script-src 'self'/, `CSP: ${csp}`);
  assert.match(csp, /connect-src 'self'/, `CSP: ${csp}`);
  await page.locator("#key-dialog[open]").waitFor({timeout: 10000});
  await page.fill("#key-input", KEY);
  await page.click("#key-form button");
  await page.locator("#model-name", {hasText: "gemma3-tiny"}).waitFor({timeout: 10000});
  assert.equal(await page.evaluate(() => sessionStorage.getItem("snug-api-key")), KEY);
  assert.equal(await page.isHidden("#attach"), true, "the image button shows for a text-only model");
  log("page loaded, key given");

  // A message streams: the answer element changes several times before it is done.
  await page.evaluate(() => {
    window.answerUpdates = 0;
    new MutationObserver(() => { window.answerUpdates++; })
        .observe(document.getElementById("messages"), {childList: true, subtree: true, characterData: true});
  });
  await page.click("#options summary");
  await page.fill("#max_tokens", "24");
  await page.fill("#temperature", "0");
  await page.fill("#prompt", "Hello! Tell me about the sea.");
  await page.press("#prompt", "Enter");
  const answer = page.locator(".message.assistant").last();
  await page.locator(".message.assistant[data-done]").first().waitFor({timeout: 30000});
  assert.equal(await answer.getAttribute("data-done"), "true", await answer.innerText());
  const text = (await answer.locator(".answer").innerText()).trim();
  assert.ok(text.length > 0, "the answer is empty");
  const updates = await page.evaluate(() => window.answerUpdates);
  assert.ok(updates >= 3, `the answer arrived in ${updates} updates: not streamed`);
  await page.screenshot({path: join(args.out, "chat.png")});
  log(`streamed an answer in ${updates} updates: ${JSON.stringify(text.slice(0, 60))}`);

  // Until now: only the expected 401 (before the key was given) may appear in the console.
  const unexpected = consoleErrors.filter((e) => !/status of 401/.test(e));
  assert.deepEqual(unexpected, [], `console errors: ${unexpected.join("\n")}`);
  consoleErrors.length = 0;

  // Reasoning folds; Markdown renders; HTML in the answer is sanitized. (Chromium reports the
  // answer's inline handler as a CSP violation when DOMPurify parses it in its inert document:
  // the handler never runs — the CSP blocks it and the sanitizer drops it.)
  const events = [
    {choices: [{index: 0, delta: {role: "assistant", reasoning: "The user greets; "}}]},
    {choices: [{index: 0, delta: {reasoning: "answer briefly."}}]},
    {choices: [{index: 0, delta: {content: "**Hello** there <img src=\"data:,\" onerror=\"window.xss=1\">"}}]},
    {choices: [{index: 0, delta: {content: "<script>window.xss=2</script>\n\n- one\n- two"}}]},
    {choices: [{index: 0, delta: {}, finish_reason: "stop"}]},
  ];
  await page.route("**/v1/chat/completions", (route) => route.fulfill({
    status: 200, contentType: "text/event-stream",
    body: events.map((e) => `data: ${JSON.stringify(e)}\n\n`).join("") + "data: [DONE]\n\n"}));
  await page.fill("#prompt", "Hi");
  await page.press("#prompt", "Enter");
  const second = page.locator(".message.assistant").nth(1);
  await page.locator(".message.assistant >> nth=1").and(page.locator("[data-done]")).waitFor({timeout: 10000});
  const reasoning = second.locator("details.reasoning");
  assert.equal(await reasoning.isVisible(), true, "no reasoning block");
  assert.equal(await reasoning.getAttribute("open"), null, "reasoning is not folded");
  assert.equal((await reasoning.locator(".reasoning-text").textContent()), "The user greets; answer briefly.");
  assert.equal(await second.locator(".answer strong").innerText(), "Hello");
  assert.equal(await second.locator(".answer li").count(), 2);
  assert.equal(await second.locator("script, [onerror]").count(), 0, "unsanitized HTML in the answer");
  assert.equal(await page.evaluate(() => window.xss), undefined, "a script in the answer ran");
  await reasoning.locator("summary").click();
  assert.notEqual(await reasoning.getAttribute("open"), null, "reasoning does not unfold");
  await page.screenshot({path: join(args.out, "reasoning.png")});
  await page.unroute("**/v1/chat/completions");
  const sanitizing = consoleErrors.filter((e) => !/inline event handler violates the following Content Security Policy/.test(e));
  assert.deepEqual(sanitizing, [], `console errors: ${sanitizing.join("\n")}`);
  consoleErrors.length = 0;
  log("reasoning folded, Markdown rendered and sanitized");

  // Status: /metrics polled every 2 s; every chart has samples and ink on it.
  await page.click("#tab-status");
  await page.waitForFunction(() => Number(document.body.dataset.metricsPolls ?? 0) >= 2, null, {timeout: 15000});
  const charts = await page.evaluate(() => [...document.querySelectorAll("canvas")].map((canvas) => {
    const pixels = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
    let ink = 0;
    for (let i = 3; i < pixels.length; i += 4) if (pixels[i] > 0) ink++;
    return {id: canvas.id, points: Number(canvas.dataset.points ?? 0), ink};
  }));
  for (const chart of charts) {
    assert.ok(chart.ink > 500, `chart ${chart.id} drew nothing: ${JSON.stringify(chart)}`);
    // Time to first token has a sample for each interval in which a request started.
    assert.ok(chart.points >= (chart.id === "chart-ttft" ? 1 : 2), `chart ${chart.id}: ${chart.points} samples`);
  }
  assert.match(await page.innerText("#status-summary"), /resident .* GiB of a plan of/);
  await page.screenshot({path: join(args.out, "status.png")});
  log(`status charts drew: ${JSON.stringify(charts)}`);

  assert.deepEqual(consoleErrors, [], `console errors: ${consoleErrors.join("\n")}`);
} catch (error) {
  failure = error;
} finally {
  await browser.close();
  await stopServer(server);
}

// --no-web: no page, the API unchanged.
if (!failure) {
  try {
    const off = await startServer(args.snug, model, ["--no-web", "--ctx", "512", "-t", "1",
                                                     "--max-queue", "2", "--max-body-bytes", "65536"]);
    try {
      assert.equal((await fetch(`${off.base}/`)).status, 404);
      assert.equal((await fetch(`${off.base}/v1/models`)).status, 200);
    } finally {
      await stopServer(off);
    }
    log("--no-web: / is 404");
  } catch (error) {
    failure = error;
  }
}
if (failure) {
  console.error(`FAIL: ${failure.stack ?? failure}\n--- server log ---\n${server.log.slice(-3000)}`);
  process.exit(1);
}
log("PASS");
