// Load test of `snug serve` (Issue 4): the real server on a tiny synthetic Gemma 3 model with
// --parallel 4 --max-queue 8, and 32 concurrent streaming clients, three rounds — half through
// the official OpenAI client, half as raw SSE (to see the literal `data: [DONE]`). Every request
// must end with a complete answer (a finish_reason, then [DONE]) or a 429 with Retry-After;
// the server must never die; afterwards /metrics shows no running sequence and no queue, and
// the process's resident memory (and its peak) is within the memory plan it logged.
//   node load_test.mjs --snug PATH/snug --out DIR
import assert from "node:assert/strict";
import {dirname} from "node:path";
import {fileURLToPath} from "node:url";

import {importOpenAI, makeModel, parseArgs, processMemory, readSse, startServer, stopServer,
        tokenPrompt, waitIdle} from "./serve_helpers.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const args = parseArgs("node load_test.mjs --snug PATH --out DIR", ["snug", "out"]);
const OpenAI = await importOpenAI(here);

const CLIENTS = 32;
const ROUNDS = 3;
const MAX_TOKENS = 24;
const KEY = "sk-snug-load";

const model = makeModel(args.snug, args.out, "gemma3-tiny");
const server = await startServer(args.snug, model,
                                 ["--parallel", "4", "--max-queue", "8", "--ctx", "512",
                                  "--batch-tokens", "128", "-t", "1", "--max-body-bytes", "65536"],
                                 {env: {SNUG_API_KEY: KEY}});
const id = "gemma3-tiny-q8_0-builtin-5";
const client = new OpenAI({baseURL: `${server.base}/v1`, apiKey: KEY, maxRetries: 0,
                           timeout: 120000});
assert.equal(server.plan.sequences, 4);
assert.equal(server.plan.contextTokens, 512);

// One client through the SDK: a streamed chat completion. Returns "answer" or "429".
async function sdkClient(index) {
  try {
    const stream = await client.chat.completions.create({
      model: id, messages: [{role: "user", content: `Client ${index}: tell me about the sea.`}],
      max_tokens: MAX_TOKENS, temperature: 0.8, seed: index, stream: true,
      stream_options: {include_usage: true}});
    let finish = null;
    let usage = null;
    for await (const chunk of stream) {
      if (chunk.usage) usage = chunk.usage;
      for (const choice of chunk.choices) finish = choice.finish_reason ?? finish;
    }
    assert.ok(["stop", "length"].includes(finish), `finish_reason ${finish}`);
    assert.ok(usage && usage.completion_tokens >= 1 && usage.completion_tokens <= MAX_TOKENS);
    return "answer";
  } catch (error) {
    if (error instanceof OpenAI.RateLimitError) {
      assert.ok(Number(error.headers.get("retry-after")) > 0, "429 without Retry-After");
      assert.equal(error.code, "rate_limit_exceeded");
      return "429";
    }
    throw error;
  }
}

// One client as raw HTTP: a streamed completion of token ids, read to the literal [DONE].
async function rawClient(index) {
  const response = await fetch(`${server.base}/v1/completions`, {
    method: "POST",
    headers: {"content-type": "application/json", authorization: `Bearer ${KEY}`},
    body: JSON.stringify({model: id, prompt: tokenPrompt(20 + index, index), stream: true,
                          max_tokens: MAX_TOKENS, temperature: 0})});
  if (response.status === 429) {
    assert.ok(Number(response.headers.get("retry-after")) > 0, "429 without Retry-After");
    const body = await response.json();
    assert.equal(body.error.code, "rate_limit_exceeded");
    return "429";
  }
  if (response.status !== 200) {
    throw new Error(`status ${response.status}: ${await response.text()}`);
  }
  const {events, done} = await readSse(response);
  assert.ok(done, "the stream did not end with data: [DONE]");
  for (const event of events) assert.equal(event.error, undefined, JSON.stringify(event));
  const finishes = events.flatMap((e) => e.choices.map((c) => c.finish_reason)).filter((f) => f);
  assert.equal(finishes.length, 1, `finish reasons ${finishes}`);
  assert.ok(["stop", "length"].includes(finishes[0]));
  return "answer";
}

let failures = 0;
const fail = (message) => {
  failures++;
  console.error(`FAIL ${message}`);
};
const rounds = [];
for (let round = 0; round < ROUNDS; round++) {
  const started = performance.now();
  const outcomes = await Promise.allSettled(Array.from({length: CLIENTS}, (_, i) =>
      i % 2 === 0 ? sdkClient(round * CLIENTS + i) : rawClient(round * CLIENTS + i)));
  const counts = {answer: 0, "429": 0};
  outcomes.forEach((outcome, i) => {
    if (outcome.status === "fulfilled") {
      counts[outcome.value]++;
    } else {
      fail(`round ${round} client ${i}: ${outcome.reason?.stack ?? outcome.reason}`);
    }
  });
  rounds.push({round, ...counts, ms: Math.round(performance.now() - started)});
  if (!server.alive()) {
    fail(`the server died in round ${round}: ${server.exitCode ?? server.signal}`);
    break;
  }
  // 4 running + 8 queued are accepted when all arrive together; at least those answer.
  if (counts.answer < 12) fail(`round ${round}: only ${counts.answer} answers`);
}

if (server.alive()) {
  const after = await waitIdle(server, KEY);
  if (after.snug_running_sequences !== 0) fail(`running sequences ${after.snug_running_sequences}`);
  if (after.snug_queue_depth !== 0) fail(`queue depth ${after.snug_queue_depth}`);
  if (after.snug_http_requests_in_flight > 1) {
    fail(`requests in flight ${after.snug_http_requests_in_flight}`);  // this /metrics call
  }
  // KV in use: the sequences' slots are all free (the prefix cache keeps idle slots' contents,
  // which the plan counted as KV).
  if (after.snug_slots !== 4) fail(`slots ${after.snug_slots}`);
  const memory = processMemory(server.pid);
  console.log(JSON.stringify({rounds, rss_bytes: memory.rss, peak_rss_bytes: memory.hwm,
                              plan_bytes: server.plan.totalBytes}));
  if (memory.rss > server.plan.totalBytes) fail(`RSS ${memory.rss} > plan ${server.plan.totalBytes}`);
  if (memory.hwm > server.plan.totalBytes) {
    fail(`peak RSS ${memory.hwm} > plan ${server.plan.totalBytes}`);
  }
  const health = await fetch(`${server.base}/healthz`);
  if (health.status !== 200) fail(`/healthz ${health.status}`);
}
const exit = await stopServer(server);
if (exit !== 0) fail(`snug serve exited ${exit ?? server.signal} after SIGTERM`);
if (failures > 0) {
  console.error(`${failures} failure(s); server log:\n${server.log.slice(-3000)}`);
  process.exit(1);
}
console.log(`PASS load (${ROUNDS} rounds × ${CLIENTS} streaming clients)`);
