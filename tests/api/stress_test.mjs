// Stress test of memory safety (Issue 5): `snug serve` on llama-tiny (full attention: KV grows
// with every token) under a tight --memory, so the plan gives a small KV pool, driven by waves
// of concurrent requests of escalating prompt length — well inside the per-request context,
// exactly at it, one token beyond it, beyond the whole KV pool and far beyond. Every request
// must end with an answer, a 400 context_length_exceeded or a 429; the process must never die;
// its peak RSS (VmHWM, read from /proc/PID/status) must stay within the planned total plus
// SLACK_BYTES, and what it grows by while serving within what the plan sized for serving.
//   node stress_test.mjs --snug PATH/snug --out DIR
import assert from "node:assert/strict";
import {execFileSync} from "node:child_process";

import {makeModel, parseArgs, processMemory, readSse, startServer, stopServer,
        tokenPrompt} from "./serve_helpers.mjs";

const args = parseArgs("node stress_test.mjs --snug PATH --out DIR", ["snug", "out"]);

// Resident memory the plan cannot see to the byte: page granularity of every mapping and
// glibc's per-thread malloc arenas (each HTTP worker touches a few of their pages).
const SLACK_BYTES = 8 << 20;
const MAX_TOKENS = 16;
const WAVE = 6;  // concurrent requests per length: more than the slots plus the queue
const FLAGS = ["--memory", "116MiB", "--ctx", "2048", "--min-ctx", "1024", "--max-queue", "2",
               "--max-body-bytes", "131072", "--batch-tokens", "256", "-t", "1"];

const model = makeModel(args.snug, args.out, "llama-tiny");
const id = "llama-tiny-q8_0-builtin-5";
// `snug plan` with the same flags gives the plan's tenants (the budget is --memory, so the plan
// is the same as the server's: checked below against the total the server logged).
const planned = JSON.parse(execFileSync(args.snug, ["plan", model, ...FLAGS, "--json"],
                                        {encoding: "utf8"}));
const server = await startServer(args.snug, model, FLAGS);
assert.equal(server.plan.totalBytes, planned.total_bytes, "serve's plan differs from snug plan's");
const context = server.plan.contextTokens;
const pool = context * server.plan.sequences;
assert.ok(server.plan.sequences >= 2 && pool <= 4 * 2048,
          `a small pool: ${server.plan.sequences} × ${context}`);
const tenants = planned.tenants;
// What may become resident only while serving: KV rows as they are written, per-request state,
// request bodies, logits and activation pages first touched by a long prefill.
const servingBytes = tenants.kv.bytes + tenants.overheads.request_state_bytes +
                     tenants.overheads.http_buffers_bytes + tenants.logits.bytes +
                     tenants.activations.bytes;
const idle = processMemory(server.pid);

// One request: a completion of `length` prompt tokens; "answer", "400" or "429".
async function request(length, salt) {
  const stream = salt % 2 === 0;
  const response = await fetch(`${server.base}/v1/completions`, {
    method: "POST", headers: {"content-type": "application/json"},
    body: JSON.stringify({model: id, prompt: tokenPrompt(length, salt), max_tokens: MAX_TOKENS,
                          temperature: 0.7, seed: salt, stream})});
  if (response.status === 400) {
    const body = await response.json();
    assert.equal(body.error.code, "context_length_exceeded", JSON.stringify(body));
    assert.ok(body.error.message.includes(String(length)), body.error.message);
    assert.equal(response.headers.get("retry-after"), null);
    assert.ok(length + MAX_TOKENS > context, `a fitting prompt of ${length} refused`);
    return "400";
  }
  if (response.status === 429) {
    assert.ok(Number(response.headers.get("retry-after")) > 0);
    assert.equal((await response.json()).error.code, "rate_limit_exceeded");
    return "429";
  }
  if (response.status !== 200) {
    throw new Error(`status ${response.status}: ${await response.text()}`);
  }
  assert.ok(length + MAX_TOKENS <= context, `a prompt of ${length} beyond the context answered`);
  if (stream) {
    const {events, done} = await readSse(response);
    assert.ok(done, "no [DONE]");
    for (const event of events) assert.equal(event.error, undefined, JSON.stringify(event));
    assert.ok(events.some((e) => e.choices.some((c) => c.finish_reason)), "no finish_reason");
  } else {
    const body = await response.json();
    assert.ok(["stop", "length"].includes(body.choices[0].finish_reason));
    assert.equal(body.usage.prompt_tokens, length);
  }
  return "answer";
}

let failures = 0;
const fail = (message) => {
  failures++;
  console.error(`FAIL ${message}`);
};
const lengths = [context / 8, context / 2, context - MAX_TOKENS, context - MAX_TOKENS + 1,
                 context + 10, pool + 10, 2 * pool];
const waves = [];
let salt = 0;
for (const length of lengths) {
  const outcomes = await Promise.allSettled(
      Array.from({length: WAVE}, () => request(length, salt++)));
  const counts = {answer: 0, "400": 0, "429": 0};
  outcomes.forEach((outcome) => {
    if (outcome.status === "fulfilled") counts[outcome.value]++;
    else fail(`prompt of ${length}: ${outcome.reason?.stack ?? outcome.reason}`);
  });
  if (!server.alive()) {
    fail(`the server died at prompts of ${length}: ${server.exitCode ?? server.signal}`);
    break;
  }
  const memory = processMemory(server.pid);
  waves.push({prompt_tokens: length, ...counts, peak_rss_bytes: memory.hwm});
  if (length + MAX_TOKENS <= context && counts.answer === 0) fail(`no answer at ${length}`);
}

const peak = server.alive() ? processMemory(server.pid).hwm : Math.max(...waves.map((w) => w.peak_rss_bytes));
const report = {plan_bytes: server.plan.totalBytes, slack_bytes: SLACK_BYTES, context, pool,
                idle_rss_bytes: idle.rss, peak_rss_bytes: peak, growth_bytes: peak - idle.rss,
                planned_serving_bytes: servingBytes, waves};
console.log(JSON.stringify(report));
if (peak > server.plan.totalBytes + SLACK_BYTES) {
  fail(`peak RSS ${peak} > plan ${server.plan.totalBytes} + slack ${SLACK_BYTES}`);
}
if (peak - idle.rss > servingBytes + SLACK_BYTES) {
  fail(`RSS grew by ${peak - idle.rss} while serving; the plan sized ${servingBytes} (+ slack)`);
}
const exit = await stopServer(server);
if (exit !== 0) fail(`snug serve exited ${exit ?? server.signal} after SIGTERM`);
if (failures > 0) {
  console.error(`${failures} failure(s); server log:\n${server.log.slice(-3000)}`);
  process.exit(1);
}
console.log(`PASS stress (${waves.length} waves of ${WAVE}, peak ${peak} ≤ plan ` +
            `${server.plan.totalBytes} + ${SLACK_BYTES})`);
