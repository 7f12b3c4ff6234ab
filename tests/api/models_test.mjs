// Issue 15: the model's names and metadata through the official client — `--alias` (listed by
// models.list, retrievable with models.retrieve), GET /v1/models/{id} (404 for a name that is
// not served), any name answered by the one model, and `--max-tokens-default` (in the model
// card, and the length of an answer that names no max_tokens) — and POST /tokenize and
// /detokenize (llama-server's shape, behind the key, the same ids as `snug tokenize`).
//   node models_test.mjs --snug PATH/snug --out DIR
import assert from "node:assert/strict";
import {execFileSync} from "node:child_process";
import {dirname} from "node:path";
import {fileURLToPath} from "node:url";

import {importOpenAI, makeModel, parseArgs, startServer, stopServer} from "./serve_helpers.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const args = parseArgs("node models_test.mjs --snug PATH --out DIR", ["snug", "out"]);
const OpenAI = await importOpenAI(here);
const KEY = "sk-models-test";

const model = makeModel(args.snug, args.out, "gemma3-tiny");
const id = "gemma3-tiny-q8_0-builtin-5";  // the file name without .gguf
const server = await startServer(args.snug, model,
                                 ["--ctx", "2048", "--batch-tokens", "64", "-t", "1",
                                  "--memory", "1GiB", "--alias", "demo", "--alias", "gpt-4o-mini",
                                  "--max-tokens-default", "5"],
                                 {env: {SNUG_API_KEY: KEY}});
const client = new OpenAI({baseURL: `${server.base}/v1`, apiKey: KEY, maxRetries: 0});

let failures = 0;
async function check(name, body) {
  try {
    await body();
    console.log(`ok   ${name}`);
  } catch (error) {
    failures++;
    console.error(`FAIL ${name}: ${error.stack ?? error}`);
  }
}

await check("models.list: the id, then every alias, each with the context", async () => {
  const models = [];
  for await (const card of client.models.list()) models.push(card);
  assert.deepEqual(models.map((card) => card.id), [id, "demo", "gpt-4o-mini"]);
  for (const card of models) {
    assert.equal(card.object, "model");
    assert.equal(card.context_length, 2048);
    assert.equal(card.max_tokens_default, 5);
  }
  assert.equal(models[1].root, id);
});

await check("models.retrieve: the id and an alias; an unknown name is NotFoundError", async () => {
  assert.equal((await client.models.retrieve(id)).id, id);
  const alias = await client.models.retrieve("demo");
  assert.equal(alias.id, "demo");
  assert.equal(alias.root, id);
  await assert.rejects(client.models.retrieve("llama-70b"),
                       (error) => error instanceof OpenAI.NotFoundError &&
                                  error.code === "model_not_found");
});

await check("GET /v1/models/{id} needs the API key", async () => {
  assert.equal((await fetch(`${server.base}/v1/models/demo`)).status, 401);
});

await check("an alias, and a name that is not served, get the one model's answer", async () => {
  for (const name of ["demo", "gpt-4o", "model"]) {
    const answer = await client.chat.completions.create(
        {model: name, messages: [{role: "user", content: "Hi"}], temperature: 0});
    assert.equal(answer.model, id);
    // --max-tokens-default 5: an answer without max_tokens stops at 5 tokens.
    assert.ok(answer.usage.completion_tokens <= 5, JSON.stringify(answer.usage));
  }
  const long = await client.completions.create({model: "demo", prompt: [2, 40, 41],
                                                temperature: 0});
  assert.ok(long.usage.completion_tokens <= 5);
  // An explicit max_tokens still wins.
  const explicit = await client.completions.create({model: "demo", prompt: [2, 40, 41],
                                                    max_tokens: 12, temperature: 0,
                                                    stop: []});
  assert.ok(explicit.usage.completion_tokens > 5 || explicit.choices[0].finish_reason === "stop");
});

const post = (path, body, key = KEY) => fetch(`${server.base}${path}`, {
  method: "POST", body: JSON.stringify(body),
  headers: {"Content-Type": "application/json", ...(key ? {Authorization: `Bearer ${key}`} : {})}});

await check("POST /tokenize and /detokenize: llama-server's shape, round trip", async () => {
  const text = "Hello world, how are you?";
  const tokenized = await (await post("/tokenize", {content: text})).json();
  assert.ok(Array.isArray(tokenized.tokens) && tokenized.tokens.length > 0);
  assert.ok(tokenized.tokens.every(Number.isInteger));
  // The CLI makes the same ids from the file alone.
  const cli = JSON.parse(execFileSync(args.snug, ["tokenize", model, text, "--json"],
                                      {encoding: "utf8"}));
  assert.deepEqual(cli.tokens.map((token) => token.id), tokenized.tokens);
  const back = await (await post("/detokenize", {tokens: tokenized.tokens})).json();
  assert.equal(back.content, text);
  // add_special prepends BOS when the vocabulary asks for it; with_pieces names each token.
  const special = await (await post("/tokenize", {content: text, add_special: true})).json();
  assert.ok(special.tokens.length >= tokenized.tokens.length);
  const pieces = await (await post("/tokenize", {content: text, with_pieces: true})).json();
  assert.deepEqual(pieces.tokens.map((token) => token.id), tokenized.tokens);
  assert.ok(pieces.tokens.every((token) => typeof token.piece === "string"));
});

await check("tokenize: 401 without the key, 400 naming the field", async () => {
  assert.equal((await post("/tokenize", {content: "a"}, null)).status, 401);
  assert.equal((await post("/detokenize", {tokens: [1]}, null)).status, 401);
  let response = await post("/tokenize", {text: "a"});
  assert.equal(response.status, 400);
  assert.equal((await response.json()).error.param, "content");
  response = await post("/detokenize", {tokens: [1, -5]});
  assert.equal(response.status, 400);
  assert.equal((await response.json()).error.param, "tokens");
  response = await post("/detokenize", {tokens: [1 << 30]});
  assert.equal(response.status, 400);
});

await check("the request log: a 404's path, a 400's reason, a cancelled request's prompt", async () => {
  await fetch(`${server.base}/v1/nothing/here`, {headers: {Authorization: `Bearer ${KEY}`}});
  await post("/v1/chat/completions", {model: "demo", messages: [], max_tokens: 2});
  const controller = new AbortController();
  const stream = await client.chat.completions.create(
      {model: "demo", messages: [{role: "user", content: "Hello there"}], max_tokens: 2000,
       temperature: 0, stream: true}, {signal: controller.signal});
  // The tiny model answers in milliseconds: freeze the server at the first token, hang up, and
  // resume it, so the answer cannot finish before the server sees the client gone. Its greedy
  // answer runs to max_tokens (no end token in 2,000), so even a fast machine is still decoding
  // when the first token reaches the client.
  try {
    for await (const chunk of stream) {
      if (chunk.choices[0]?.delta?.content) {
        server.child.kill("SIGSTOP");
        setTimeout(() => server.child.kill("SIGCONT"), 300);
        controller.abort();
        break;
      }
    }
  } catch {
    // aborted
  }
  for (let i = 0; i < 50 && !/status=499/.test(server.log); i++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  assert.match(server.log, /route=other status=404 .*path="GET \/v1\/nothing\/here"/);
  assert.match(server.log, /status=400 .*error="[^"]*messages/);
  const cancelled = /status=499 prompt_tokens=(\d+)/.exec(server.log);
  assert.ok(cancelled, `no cancelled request in the log:\n${server.log}`);
  assert.ok(Number(cancelled[1]) > 0, cancelled[0]);
});

const code = await stopServer(server);
if (code !== 0) {
  failures++;
  console.error(`FAIL snug serve exited ${code} on SIGTERM:\n${server.log}`);
}
if (failures > 0) {
  console.error(`${failures} check(s) failed`);
  process.exit(1);
}
console.log("models: all checks passed");
