// API test of `snug serve`: starts the real server on a tiny synthetic Gemma 3 model on a free
// port and drives it with the official OpenAI client (npm `openai`) — chat (plain, streamed with
// usage, n=2, stop, logprobs, seeded), completions with token-id prompts and echo — then raw
// fetch for every row of design.md's error table, /metrics, the prefix cache (cached_tokens),
// clients that hang up, back-to-back requests on a second server with one slot and no queue,
// and a graceful SIGTERM (exit 0).
//   node api_test.mjs --snug PATH/snug --out DIR
import assert from "node:assert/strict";
import {execFileSync, spawn} from "node:child_process";
import {existsSync, mkdirSync} from "node:fs";
import {createServer} from "node:net";
import {dirname, join} from "node:path";
import {fileURLToPath} from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const option = (name) => {
  const index = args.indexOf(name);
  if (index < 0 || index + 1 >= args.length) {
    console.error(`usage: node api_test.mjs --snug PATH --out DIR (missing ${name})`);
    process.exit(2);
  }
  return args[index + 1];
};
const snug = option("--snug");
const outDir = option("--out");

if (!existsSync(join(here, "node_modules", "openai"))) {
  console.error("FAIL: tests/api/node_modules/openai is missing: run scripts/setup.sh " +
                "(or `npm install` in tests/api)");
  process.exit(1);
}
const {default: OpenAI} = await import("openai");

const MODEL = "gemma3-tiny";
const KEY = "sk-snug-test";
const CONTEXT = 256;

mkdirSync(outDir, {recursive: true});
const modelPath = join(outDir, `${MODEL}.gguf`);
execFileSync(snug, ["make-model", MODEL, "--vocab", "builtin", "--type", "q8_0", "--seed", "5",
                    "-q", "-o", modelPath], {stdio: ["ignore", "inherit", "inherit"]});

const freePort = () => new Promise((resolve, reject) => {
  const server = createServer();
  server.unref();
  server.on("error", reject);
  server.listen(0, "127.0.0.1", () => {
    const {port} = server.address();
    server.close(() => resolve(port));
  });
});
// Unref'd: a pending timer must not keep the test alive after it is done.
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms).unref());

// Starts `snug serve` on the model with `extra` flags; resolves once /health says 200.
async function startServer(extra) {
  const port = await freePort();
  const server = {base: `http://127.0.0.1:${port}`, log: "", exitCode: null};
  server.child = spawn(snug, ["serve", modelPath, "--port", String(port), "--ctx", String(CONTEXT),
                              "--batch-tokens", "64", "-t", "1", ...extra],
                       {env: {...process.env, SNUG_API_KEY: KEY},
                        stdio: ["ignore", "inherit", "pipe"]});
  server.child.stderr.on("data", (data) => { server.log += data; });
  server.exited = new Promise((resolve) => server.child.on("exit", (code, signal) => {
    server.exitCode = code ?? signal;
    resolve();
  }));
  // Ready: /health answers 200 (503 + Retry-After while loading), without a key.
  const deadline = Date.now() + 30000;
  while (Date.now() < deadline && server.exitCode === null) {
    try {
      const response = await fetch(`${server.base}/health`);
      if (response.status === 200) return server;
      if (response.status === 503) assert.ok(response.headers.get("retry-after"));
    } catch {
      // not listening yet
    }
    await sleep(50);
  }
  console.error(`FAIL: snug serve did not become ready (exit ${server.exitCode}):\n${server.log}`);
  server.child.kill("SIGKILL");
  process.exit(1);
}

const server = await startServer(["--parallel", "2", "--max-queue", "1",
                                  "--max-body-bytes", "65536"]);
const base = server.base;

let failures = 0;
const results = [];
// No waiting for an idle engine between checks: a request's slot is free before its answer
// arrives, so each check starts with every slot free (the back-to-back check proves it).
async function check(name, body) {
  const started = performance.now();
  try {
    await body();
    results.push({name, ok: true, ms: Math.round(performance.now() - started)});
  } catch (error) {
    failures++;
    results.push({name, ok: false});
    console.error(`FAIL ${name}: ${error.stack ?? error}`);
  }
}

const client = new OpenAI({baseURL: `${base}/v1`, apiKey: KEY, maxRetries: 0, timeout: 60000});
const messages = [{role: "developer", content: "You are terse."},
                  {role: "user", content: "Tell me about the sea."}];

await check("models.list names the model and its context", async () => {
  const models = [];
  for await (const model of client.models.list()) models.push(model);
  assert.equal(models.length, 1);
  assert.equal(models[0].id, MODEL);
  assert.equal(models[0].context_length, CONTEXT);
});

let greedy;
await check("chat completion (greedy)", async () => {
  greedy = await client.chat.completions.create({model: MODEL, messages, max_tokens: 16,
                                                  temperature: 0});
  assert.match(greedy.id, /^chatcmpl-/);
  assert.equal(greedy.object, "chat.completion");
  assert.equal(greedy.model, MODEL);
  assert.equal(typeof greedy.created, "number");
  assert.equal(greedy.choices.length, 1);
  const choice = greedy.choices[0];
  assert.equal(choice.message.role, "assistant");
  assert.equal(typeof choice.message.content, "string");
  assert.ok(["stop", "length"].includes(choice.finish_reason));
  const usage = greedy.usage;
  assert.ok(usage.prompt_tokens > 5);
  assert.ok(usage.completion_tokens >= 1 && usage.completion_tokens <= 16);
  if (choice.finish_reason === "length") assert.equal(usage.completion_tokens, 16);
  assert.equal(usage.total_tokens, usage.prompt_tokens + usage.completion_tokens);
  assert.equal(typeof usage.prompt_tokens_details.cached_tokens, "number");
});

await check("streamed chat equals the non-streamed answer, usage last", async () => {
  const stream = await client.chat.completions.create({
    model: MODEL, messages, max_tokens: 16, temperature: 0, stream: true,
    stream_options: {include_usage: true}});
  let text = "";
  let finish = null;
  let usage = null;
  let chunks = 0;
  let sawRole = false;
  for await (const chunk of stream) {
    chunks++;
    assert.equal(chunk.object, "chat.completion.chunk");
    assert.equal(usage, null, "the usage chunk must be the last one");
    if (chunk.choices.length === 0) {
      usage = chunk.usage;
      continue;
    }
    const delta = chunk.choices[0].delta;
    if (delta.role) sawRole = true;
    text += delta.content ?? "";
    if (chunk.choices[0].finish_reason) finish = chunk.choices[0].finish_reason;
  }
  assert.ok(sawRole);
  assert.ok(chunks >= 3);
  assert.equal(text, greedy.choices[0].message.content);
  assert.equal(finish, greedy.choices[0].finish_reason);
  assert.deepEqual(usage.completion_tokens, greedy.usage.completion_tokens);
  assert.deepEqual(usage.prompt_tokens, greedy.usage.prompt_tokens);
});

await check("n=2 gives two choices", async () => {
  const result = await client.chat.completions.create({model: MODEL, messages, max_tokens: 8,
                                                       n: 2, seed: 3});
  assert.equal(result.choices.length, 2);
  assert.deepEqual(result.choices.map((c) => c.index), [0, 1]);
  for (const choice of result.choices) assert.equal(typeof choice.message.content, "string");
});

await check("stop string ends the answer before it", async () => {
  const text = greedy.choices[0].message.content;
  // Two ASCII letters from the middle of the greedy answer.
  const at = [...text.matchAll(/[A-Za-z]{2}/g)].map((m) => m.index).find((i) => i >= 2);
  assert.ok(at !== undefined, `no stop candidate in ${JSON.stringify(text)}`);
  const stop = text.slice(at, at + 2);
  const result = await client.chat.completions.create({model: MODEL, messages, max_tokens: 16,
                                                       temperature: 0, stop: [stop, "\u0000"]});
  assert.equal(result.choices[0].message.content, text.slice(0, text.indexOf(stop)));
  assert.equal(result.choices[0].finish_reason, "stop");
});

await check("logprobs with top_logprobs", async () => {
  const result = await client.chat.completions.create({model: MODEL, messages, max_tokens: 6,
                                                       temperature: 0, logprobs: true,
                                                       top_logprobs: 3});
  const content = result.choices[0].logprobs.content;
  assert.equal(content.length, result.usage.completion_tokens);
  for (const entry of content) {
    assert.ok(entry.logprob <= 0);
    assert.equal(entry.top_logprobs.length, 3);
    assert.ok(Array.isArray(entry.bytes));
    // Greedy picks the most likely token.
    assert.ok(Math.abs(entry.logprob - entry.top_logprobs[0].logprob) < 1e-4);
  }
});

await check("a seed reproduces a sampled answer", async () => {
  const ask = (seed) => client.chat.completions.create({model: MODEL, messages, max_tokens: 12,
                                                        temperature: 1, seed});
  const a = await ask(1234);
  const b = await ask(1234);
  assert.equal(a.choices[0].message.content, b.choices[0].message.content);
  const others = [];
  for (const seed of [1, 2, 3]) others.push(await ask(seed));
  assert.ok(others.some((o) => o.choices[0].message.content !== a.choices[0].message.content),
            "three other seeds all gave the same text");
});

await check("completions with token-id prompts", async () => {
  const result = await client.completions.create({model: MODEL, prompt: [[2, 40, 41, 42], [2, 43]],
                                                  max_tokens: 4, temperature: 0});
  assert.match(result.id, /^cmpl-/);
  assert.equal(result.object, "text_completion");
  assert.equal(result.choices.length, 2);
  assert.deepEqual(result.choices.map((c) => c.index), [0, 1]);
  assert.equal(result.usage.prompt_tokens, 6);
  // The same prompt alone gives the same greedy text.
  const single = await client.completions.create({model: MODEL, prompt: [2, 43], max_tokens: 4,
                                                  temperature: 0});
  assert.equal(single.choices[0].text, result.choices[1].text);
});

await check("completions echo with logprobs scores the prompt", async () => {
  const result = await client.completions.create({model: MODEL, prompt: "The sea is", echo: true,
                                                  logprobs: 2, max_tokens: 3, temperature: 0});
  const choice = result.choices[0];
  assert.ok(choice.text.startsWith("The sea is"), JSON.stringify(choice.text));
  const logprobs = choice.logprobs;
  assert.equal(logprobs.tokens.length, result.usage.prompt_tokens + result.usage.completion_tokens);
  assert.equal(logprobs.token_logprobs[0], null);  // the first prompt token has no context
  assert.ok(logprobs.token_logprobs.slice(1).every((v) => v <= 0));
  assert.equal(logprobs.text_offset.length, logprobs.tokens.length);
});

// Raw fetch for every row of the error table.
const post = (path, body, {key = KEY, raw = false, signal} = {}) => fetch(`${base}${path}`, {
  method: "POST",
  headers: {"Content-Type": "application/json", ...(key ? {Authorization: `Bearer ${key}`} : {})},
  body: raw ? body : JSON.stringify(body), signal});
async function expectError(response, status, {type, code, param} = {}) {
  assert.equal(response.status, status);
  const body = await response.json();
  assert.deepEqual(Object.keys(body.error).sort(), ["code", "message", "param", "type"]);
  assert.equal(typeof body.error.message, "string");
  if (type !== undefined) assert.equal(body.error.type, type);
  if (code !== undefined) assert.equal(body.error.code, code);
  if (param !== undefined) assert.equal(body.error.param, param);
  return body.error;
}
const chat = (extra = {}) => ({model: MODEL, messages, max_tokens: 4, ...extra});

await check("malformed JSON: 400", async () => {
  await expectError(await post("/v1/chat/completions", "{\"model\":", {raw: true}), 400,
                    {type: "invalid_request_error", param: null});
});
await check("bad field: 400 naming it; unknown fields ignored", async () => {
  await expectError(await post("/v1/chat/completions", chat({temperature: "hot"})), 400,
                    {type: "invalid_request_error", param: "temperature"});
  await expectError(await post("/v1/chat/completions", chat({n: 0})), 400, {param: "n"});
  await expectError(await post("/v1/completions", {model: MODEL, prompt: "a", suffix: "b"}), 400,
                    {param: "suffix"});
  assert.equal((await post("/v1/chat/completions", chat({some_new_field: 1}))).status, 200);
});
await check("unknown model name: the one model answers; retrieving it is a 404", async () => {
  const answer = await client.chat.completions.create(chat({model: "gpt-4o"}));
  assert.equal(answer.model, MODEL);
  await assert.rejects(client.models.retrieve("gpt-4o"),
                       (error) => error instanceof OpenAI.NotFoundError && error.param === "model");
});
await check("context exceeded: 400 context_length_exceeded with both counts", async () => {
  const error = await expectError(await post("/v1/chat/completions", chat({max_tokens: CONTEXT})),
                                  400, {code: "context_length_exceeded", param: "messages"});
  assert.match(error.message, new RegExp(`${CONTEXT}`));
  assert.match(error.message, /\d+ in the messages/);
  // A prompt that can never fit, whatever the wait: 400, no retry hint.
  const response = await post("/v1/completions",
                              {model: MODEL, prompt: Array(CONTEXT + 10).fill(40)});
  assert.equal(response.headers.get("retry-after"), null);
  await expectError(response, 400, {code: "context_length_exceeded", param: "prompt"});
  await assert.rejects(client.chat.completions.create(chat({max_tokens: CONTEXT})),
                       (e) => e instanceof OpenAI.BadRequestError &&
                              e.code === "context_length_exceeded");
});
await check("missing or wrong API key: 401; health stays open", async () => {
  await expectError(await post("/v1/chat/completions", chat(), {key: null}), 401,
                    {code: "invalid_api_key"});
  await expectError(await post("/v1/chat/completions", chat(), {key: "wrong"}), 401,
                    {code: "invalid_api_key"});
  const bad = new OpenAI({baseURL: `${base}/v1`, apiKey: "wrong", maxRetries: 0});
  await assert.rejects(bad.models.list(), (e) => e instanceof OpenAI.AuthenticationError);
  assert.equal((await fetch(`${base}/health`)).status, 200);
  assert.equal((await fetch(`${base}/healthz`)).status, 200);
});
await check("queue full: 429 rate_limit_exceeded + Retry-After", async () => {
  // Two slots and one queue place: of six requests of two choices each sent at once, the first
  // takes both slots, the second waits, the rest are refused.
  const responses = await Promise.all(Array.from({length: 6}, () =>
      post("/v1/completions", {model: MODEL, prompt: [2, 40, 41], max_tokens: 200, n: 2,
                               temperature: 1})));
  const refused = responses.filter((r) => r.status === 429);
  assert.ok(refused.length >= 1, `statuses ${responses.map((r) => r.status)}`);
  for (const response of responses) {
    if (response.status === 429) {
      assert.ok(Number(response.headers.get("retry-after")) > 0);
      await expectError(response, 429, {code: "rate_limit_exceeded"});
    } else {
      assert.equal(response.status, 200);
      await response.json();
    }
  }
});
await check("body too large: 413", async () => {
  await expectError(await post("/v1/chat/completions", chat({pad: "x".repeat(100000)})), 413,
                    {type: "invalid_request_error"});
});
await check("unknown route: 404 in the same shape", async () => {
  await expectError(await fetch(`${base}/v1/nothing`, {headers: {Authorization: `Bearer ${KEY}`}}),
                    404);
});
await check("an aborted stream leaves the server serving", async () => {
  const controller = new AbortController();
  const stream = await client.chat.completions.create(
      {model: MODEL, messages, max_tokens: 200, stream: true}, {signal: controller.signal});
  let chunks = 0;
  try {
    for await (const chunk of stream) {
      if (++chunks === 3) controller.abort();
      assert.ok(chunk);
    }
  } catch (error) {
    assert.ok(error instanceof OpenAI.APIUserAbortError || error.name === "AbortError", error);
  }
  const after = await client.chat.completions.create(chat());
  assert.equal(after.choices.length, 1);
});
await check("metrics: Prometheus text with requests, queue, tokens, latencies", async () => {
  const response = await fetch(`${base}/metrics`, {headers: {Authorization: `Bearer ${KEY}`}});
  assert.equal(response.status, 200);
  const text = await response.text();
  for (const needle of ['snug_requests_total{route="/v1/chat/completions",status="200"}',
                        'status="429"', "snug_queue_depth", "snug_running_sequences",
                        "snug_generated_tokens_total", "snug_time_to_first_token_seconds_bucket",
                        "snug_inter_token_latency_seconds_count", "snug_kv_cache_bytes",
                        "snug_decode_tokens_per_second"]) {
    assert.ok(text.includes(needle), `no ${needle} in /metrics`);
  }
});

const metricValue = (text, name) => {
  const match = text.match(new RegExp(`^${name} (\\S+)$`, "m"));
  return match ? Number(match[1]) : NaN;
};
const metrics = async (target = base) =>
  (await fetch(`${target}/metrics`, {headers: {Authorization: `Bearer ${KEY}`}})).text();

await check("a repeated prompt is served from the prefix cache (cached_tokens, /metrics)", async () => {
  const long = [{role: "system", content: "You answer questions about the sea. ".repeat(8)},
                {role: "user", content: "Why is the sea salty?"}];
  const before = await metrics();
  const first = await client.chat.completions.create({model: MODEL, messages: long,
                                                      max_tokens: 8, temperature: 0});
  const second = await client.chat.completions.create({model: MODEL, messages: long,
                                                       max_tokens: 8, temperature: 0});
  // All but the last token (which must run to give logits); the first found at most the chat
  // template's opening in the cache.
  const cached = second.usage.prompt_tokens_details.cached_tokens;
  assert.equal(cached, second.usage.prompt_tokens - 1);
  assert.ok(first.usage.prompt_tokens_details.cached_tokens < cached);
  assert.equal(second.choices[0].message.content, first.choices[0].message.content);
  // Streamed usage says the same.
  const stream = await client.chat.completions.create({
    model: MODEL, messages: long, max_tokens: 8, temperature: 0, stream: true,
    stream_options: {include_usage: true}});
  let usage = null;
  for await (const chunk of stream) if (chunk.usage) usage = chunk.usage;
  assert.ok(usage.prompt_tokens_details.cached_tokens > 0);
  const after = await metrics();
  assert.ok(metricValue(after, "snug_prompt_cached_tokens_total") >=
            metricValue(before, "snug_prompt_cached_tokens_total") + 2 * cached);
  assert.ok(metricValue(after, "snug_prefix_cache_hits_total") >=
            metricValue(before, "snug_prefix_cache_hits_total") + 2);
});

await check("a client gone before a non-streamed answer frees its sequence", async () => {
  // The tiny model answers in milliseconds, so the server is frozen (SIGSTOP) while the client
  // hangs up; resumed, it must notice the closed socket and cancel instead of finishing.
  // Freeze the server only once the request holds a sequence: a request still on its way when
  // the client aborts never reaches the server, and nothing would count it. On a busy machine
  // the answer may finish before a poll sees it running: then try again.
  let controller, pending, caught = false;
  for (let attempt = 0; attempt < 10 && !caught; attempt++) {
    controller = new AbortController();
    let settled = false;
    pending = post("/v1/completions", {model: MODEL, prompt: [2, 40, 41],
                                       max_tokens: CONTEXT - 3, temperature: 0},
                   {signal: controller.signal});
    pending.then(() => { settled = true; }, () => { settled = true; });
    // Seen running within 100 ms of sending: most of its ~250 tokens are still to come.
    for (const sent = Date.now(); Date.now() < sent + 100 && !settled;) {
      if (/^snug_running_sequences 1$/m.test(await metrics()) && Date.now() < sent + 100) {
        server.child.kill("SIGSTOP");
        caught = true;
        break;
      }
    }
    if (!caught) await pending.catch(() => {});
  }
  assert.ok(caught, "the request never showed as running");
  controller.abort();
  await assert.rejects(pending);
  await sleep(300);  // longer than the server's 200 ms between checks of the socket
  server.child.kill("SIGCONT");
  // Cancelled within a few hundred milliseconds, long before 200 tokens could be generated.
  const deadline = Date.now() + 3000;
  let text = "";
  while (Date.now() < deadline) {
    text = await metrics();
    if (/^snug_running_sequences 0$/m.test(text) &&
        /route="\/v1\/completions",status="499"/.test(text)) break;
    await sleep(20);
  }
  assert.match(text, /^snug_running_sequences 0$/m);
  assert.match(text, /snug_requests_total\{route="\/v1\/completions",status="499"\} 1/);
});

await check("back-to-back requests on --parallel 1 --max-queue 0 never get a 429", async () => {
  const single = await startServer(["--parallel", "1", "--max-queue", "0"]);
  try {
    const singleClient = new OpenAI({baseURL: `${single.base}/v1`, apiKey: KEY, maxRetries: 0});
    for (let i = 0; i < 12; i++) {
      const prompt = [2, 40 + i, 41, 42];
      if (i % 2 === 0) {
        const result = await singleClient.completions.create({model: MODEL, prompt, max_tokens: 3,
                                                              temperature: 0});
        assert.equal(result.choices.length, 1);
      } else {
        const stream = await singleClient.chat.completions.create({
          model: MODEL, messages, max_tokens: 3, temperature: 0, stream: true});
        for await (const chunk of stream) assert.ok(chunk);
      }
    }
    // And it does refuse while the slot really is taken (a stream that has begun).
    const busy = await singleClient.completions.create({model: MODEL, prompt: [2, 40, 41],
                                                        max_tokens: CONTEXT - 3, temperature: 0,
                                                        stream: true});
    const iterator = busy[Symbol.asyncIterator]();
    await iterator.next();
    await assert.rejects(singleClient.completions.create({model: MODEL, prompt: [2, 41],
                                                          max_tokens: 3}),
                         (e) => e instanceof OpenAI.RateLimitError);
    while (!(await iterator.next()).done) { /* to its end */ }
  } finally {
    single.child.kill("SIGKILL");
  }
});

// Graceful shutdown: SIGTERM while a stream runs; the process exits 0.
await check("SIGTERM drains and exits 0", async () => {
  const stream = await client.chat.completions.create({model: MODEL, messages, max_tokens: 100,
                                                       stream: true});
  const iterator = stream[Symbol.asyncIterator]();
  await iterator.next();
  server.child.kill("SIGTERM");
  try {
    while (!(await iterator.next()).done) { /* drain */ }
  } catch {
    // cut when the grace period ends: acceptable
  }
  await Promise.race([server.exited, sleep(20000)]);
  assert.equal(server.exitCode, 0, `exit ${server.exitCode}`);
  assert.match(server.log, /SIGTERM/);
});

if (server.exitCode === null) server.child.kill("SIGKILL");
for (const result of results) console.log(JSON.stringify(result));
if (failures > 0) {
  console.error(`${failures} failure(s); server log:\n${server.log.slice(-4000)}`);
  process.exit(1);
}
console.log(`PASS api (${results.length} checks)`);
