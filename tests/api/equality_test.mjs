// Equality test (Issue 4): greedy results through `snug serve` equal `snug run --json` for the
// same token prompt — the same tokens, the same log-probabilities (and top alternatives) —
// with one client at a time and with several requests batched together in the engine (sent at
// once, queued behind each other, and alongside a long answer that decodes throughout). On
// gemma3-tiny (sliding-window rings, prompts longer than the window and than one prefill chunk)
// and llama-tiny.
//   node equality_test.mjs --snug PATH/snug --out DIR
import assert from "node:assert/strict";
import {execFileSync} from "node:child_process";
import {dirname} from "node:path";
import {fileURLToPath} from "node:url";

import {importOpenAI, makeModel, parseArgs, sseEvents, startServer, stopServer, tokenPrompt,
        waitIdle} from "./serve_helpers.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const args = parseArgs("node equality_test.mjs --snug PATH --out DIR", ["snug", "out"]);
const OpenAI = await importOpenAI(here);

const MAX_TOKENS = 12;
const TOP = 3;
const BATCH = 32;  // tokens per forward pass: prompts of 100+ tokens take several chunks
// The server's context: room for a long answer that outlasts the batched requests (the
// reference's context does not change a result: full layers hold every position, rings
// window + batch rows either way).
const SERVER_CONTEXT = 8192;
// A prompt whose greedy answer runs 8,000 tokens without an end-of-generation token on both
// models (seed 5): `snug run MODEL --tokens 2,70 -n 8000 --temperature 0` ends by length. That
// is seconds of decoding even on a fast machine, far longer than the batched requests take.
const LONG_ANSWER_PROMPT = [2, 70];
// Both sides run the same kernels on the same rows; batching must not change a row's result.
// The bound only absorbs float formatting (run prints float32 through JSON, the server too).
const LOGPROB_TOLERANCE = 1e-5;

// What `snug run --json` generates: per token its text, logprob and top alternatives.
function runReference(model, prompt) {
  const output = execFileSync(args.snug, [
    "run", model, "--tokens", prompt.join(","), "--json", "--temperature", "0", "-n",
    String(MAX_TOKENS), "--top-logprobs", String(TOP), "--batch-tokens", String(BATCH),
    "--ctx", "512", "-t", "1"], {encoding: "utf8", stdio: ["ignore", "pipe", "pipe"]});
  const lines = output.trim().split("\n").map((line) => JSON.parse(line));
  const summary = lines.pop();
  return {tokens: lines, finish: summary.finish_reason};
}

function expectEqual(name, served, reference) {
  const choice = served.choices[0];
  const logprobs = choice.logprobs;
  assert.equal(choice.finish_reason, reference.finish, `${name}: finish_reason`);
  assert.deepEqual(logprobs.tokens, reference.tokens.map((t) => t.text), `${name}: tokens`);
  // Token texts are bytes; a character split over byte tokens reads as U+FFFD in each.
  const joined = reference.tokens.map((t) => t.text).join("");
  if (!joined.includes("\uFFFD")) assert.equal(choice.text, joined, `${name}: text`);
  reference.tokens.forEach((token, i) => {
    assert.ok(Math.abs(logprobs.token_logprobs[i] - token.logprob) <= LOGPROB_TOLERANCE,
              `${name}: token ${i} logprob ${logprobs.token_logprobs[i]} vs ${token.logprob}`);
    // Alternatives by value: the server keys them by text, and byte tokens share one ("\uFFFD"),
    // so an object may hold fewer than TOP; each must be one of the reference's.
    const expected = token.top_logprobs.map((t) => t.logprob);
    assert.equal(expected.length, TOP);
    for (const value of Object.values(logprobs.top_logprobs[i])) {
      assert.ok(expected.some((e) => Math.abs(value - e) <= LOGPROB_TOLERANCE),
                `${name}: token ${i} alternative ${value} not in ${expected}`);
    }
  });
}

// Runs `body` while another sequence decodes a long answer, so every request of `body` shares
// engine steps (one batch) with it; fails if that sequence ended before `body` did.
async function whileAnotherDecodes(server, id, body) {
  const controller = new AbortController();
  const response = await fetch(`${server.base}/v1/completions`, {
    method: "POST", headers: {"content-type": "application/json"}, signal: controller.signal,
    body: JSON.stringify({model: id, prompt: LONG_ANSWER_PROMPT, max_tokens: 8000,
                          temperature: 0, stream: true})});
  assert.equal(response.status, 200);
  const events = sseEvents(response);
  await events.next();  // decoding
  let finished = false;
  const drained = (async () => {
    try {
      for await (const event of events) {
        if (event.data !== "[DONE]" && event.data.choices.some((c) => c.finish_reason)) {
          finished = true;
        }
      }
    } catch {
      // aborted below
    }
  })();
  try {
    await body();
    assert.ok(!finished, "the long answer ended before the batched requests did");
  } finally {
    controller.abort();
    await drained;
  }
}

let failures = 0;
async function check(name, body) {
  try {
    await body();
    console.log(JSON.stringify({name, ok: true}));
  } catch (error) {
    failures++;
    console.error(`FAIL ${name}: ${error.stack ?? error}`);
  }
}

for (const preset of ["gemma3-tiny", "llama-tiny"]) {
  const model = makeModel(args.snug, args.out, preset);
  const id = `${preset}-q8_0-builtin-5`;
  // Prompts shorter than gemma3-tiny's window (16), longer than it, and over several chunks.
  const prompts = [[2, 40, 41, 42], tokenPrompt(37, 1), tokenPrompt(150, 2), tokenPrompt(90, 3)];
  const references = prompts.map((prompt) => runReference(model, prompt));
  const server = await startServer(args.snug, model,
                                   ["--parallel", "4", "--max-queue", "8",
                                    "--ctx", String(SERVER_CONTEXT),
                                    "--batch-tokens", String(BATCH), "-t", "1",
                                    "--max-body-bytes", "65536"]);
  const client = new OpenAI({baseURL: `${server.base}/v1`, apiKey: "none", maxRetries: 0});
  const complete = (prompt) => client.completions.create({
    model: id, prompt, max_tokens: MAX_TOKENS, temperature: 0, logprobs: TOP});

  await check(`${preset}: one client at a time`, async () => {
    for (let i = 0; i < prompts.length; i++) {
      await waitIdle(server);
      expectEqual(`prompt ${i}`, await complete(prompts[i]), references[i]);
    }
  });
  await check(`${preset}: four clients batched together`, async () => {
    await waitIdle(server);
    const results = await Promise.all(prompts.map((prompt) => complete(prompt)));
    results.forEach((result, i) => expectEqual(`prompt ${i}`, result, references[i]));
  });
  await check(`${preset}: four clients batched with a long answer decoding`, async () => {
    await waitIdle(server);
    await whileAnotherDecodes(server, id, async () => {
      const results = await Promise.all(prompts.map((prompt) => complete(prompt)));
      results.forEach((result, i) => expectEqual(`prompt ${i}`, result, references[i]));
    });
  });
  await check(`${preset}: eight clients, four running and four queued behind them`, async () => {
    await waitIdle(server);
    const all = [...prompts, ...prompts.slice().reverse()];
    const results = await Promise.all(all.map((prompt) => complete(prompt)));
    results.forEach((result, i) =>
        expectEqual(`request ${i}`, result, references[prompts.indexOf(all[i])]));
  });
  const exit = await stopServer(server);
  if (exit !== 0) {
    failures++;
    console.error(`FAIL ${preset}: snug serve exited ${exit}:\n${server.log.slice(-2000)}`);
  }
}

if (failures > 0) {
  console.error(`${failures} failure(s)`);
  process.exit(1);
}
console.log("PASS equality (server = snug run, alone and batched)");
