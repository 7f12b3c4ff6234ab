// Serving throughput of `snug serve` (Issue 4): aggregate decode tokens/s with 1, 2, 4 and 8
// concurrent streams (the gain from continuous batching: the 4-stream / 1-stream ratio), and
// the time to first token of a 2,000-token prompt alone and while 4 other streams decode (with
// the longest pause those streams see meanwhile: prefill runs in chunks between their steps).
// Streams are completions of distinct token-id prompts (no prefix-cache hits), greedy, raw SSE
// with logprobs so every token is counted when it arrives. A program, not a test: prints JSON.
//   node bench/serve_bench.mjs --snug build/release/src/cli/snug
//        [--model models/gemma3-1b-q4_0.gguf] [--threads 2] [--tokens 64] [--prompt 64]
//        [--long 2000] [--ids 1000:20000]
import {basename, dirname, join} from "node:path";
import {fileURLToPath} from "node:url";

import {parseArgs, processMemory, sseEvents, startServer, stopServer,
        tokenPrompt} from "../tests/api/serve_helpers.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const args = parseArgs("node bench/serve_bench.mjs --snug PATH [--model GGUF]", ["snug"], {
  model: join(here, "..", "models", "gemma3-1b-q4_0.gguf"), threads: "2", tokens: "64",
  prompt: "64", long: "2000", ids: "1000:20000"});
const TOKENS = Number(args.tokens);
const PROMPT = Number(args.prompt);
const LONG = Number(args.long);
// Prompt ids FIRST:SPAN: ordinary entries of every vocabulary the real-shape presets use.
const [first, span] = args.ids.split(":").map(Number);
const ids = {first, span};

const server = await startServer(args.snug, args.model,
                                 ["--parallel", "8", "--max-queue", "16", "--ctx", "4096",
                                  "-t", args.threads, "--max-body-bytes", "1048576"],
                                 {readyMs: 300000});
const modelId = basename(args.model, ".gguf");  // what serve names it
let salt = 1;

// One greedy stream; its tokens' arrival times (performance.now(), ms).
async function stream(promptTokens, maxTokens, {signal, onToken} = {}) {
  const start = performance.now();
  const response = await fetch(`${server.base}/v1/completions`, {
    method: "POST", headers: {"content-type": "application/json"}, signal,
    body: JSON.stringify({model: modelId, prompt: tokenPrompt(promptTokens, salt++, ids),
                          max_tokens: maxTokens, temperature: 0, logprobs: 1, stream: true})});
  if (response.status !== 200) throw new Error(`${response.status}: ${await response.text()}`);
  const times = [];
  try {
    for await (const event of sseEvents(response)) {
      if (event.data === "[DONE]") break;
      if (event.data.error) throw new Error(JSON.stringify(event.data.error));
      for (const choice of event.data.choices) {
        const count = choice.logprobs?.tokens?.length ?? 0;
        for (let i = 0; i < count; i++) times.push(event.ms);
        if (count > 0 && onToken) onToken(event.ms);
      }
    }
  } catch (error) {
    if (!signal?.aborted) throw error;
  }
  return {start, times};
}

// N streams at once. Aggregate decode speed over the window in which all N decode (from the
// last first token to the first last token): the tokens that arrived in it over its length.
async function concurrent(n) {
  const results = await Promise.all(Array.from({length: n}, () => stream(PROMPT, TOKENS)));
  const from = Math.max(...results.map((r) => r.times[0]));
  const to = Math.min(...results.map((r) => r.times[r.times.length - 1]));
  const inWindow = results.reduce(
      (sum, r) => sum + r.times.filter((t) => t > from && t <= to).length, 0);
  const tokens = results.reduce((sum, r) => sum + r.times.length, 0);
  return {
    streams: n,
    completion_tokens: tokens,
    aggregate_decode_tokens_per_second: inWindow / ((to - from) / 1000),
    mean_ttft_ms: results.reduce((sum, r) => sum + r.times[0] - r.start, 0) / n,
  };
}

// The 2,000-token prompt's time to first token while `others` streams decode, and the longest
// gap between two tokens of those streams while it prefills.
async function longPromptTtft(others) {
  const controller = new AbortController();
  const gaps = [];
  let started = 0;
  let ready;
  const allStarted = new Promise((resolve) => { ready = resolve; });
  const lastToken = new Array(others).fill(0);
  const background = Array.from({length: others}, (_, i) => stream(PROMPT, 3000 - PROMPT, {
    signal: controller.signal,
    onToken: (ms) => {
      if (lastToken[i] === 0 && ++started === others) ready();
      if (lastToken[i] > 0) gaps.push({at: ms, gap: ms - lastToken[i]});
      lastToken[i] = ms;
    }}));
  if (others > 0) await allStarted;
  const long = await stream(LONG, 4);
  const ttft = long.times[0] - long.start;
  controller.abort();
  await Promise.allSettled(background);
  const during = gaps.filter((g) => g.at >= long.start && g.at <= long.times[0] + 1);
  return {ttft_ms: ttft,
          max_gap_ms: during.length ? Math.max(...during.map((g) => g.gap)) : null};
}

const out = {model: args.model, threads: Number(args.threads), prompt_tokens: PROMPT,
             completion_tokens: TOKENS, plan: server.plan, runs: []};
await stream(PROMPT, 8);  // warm-up: pages of the weights, the engine's buffers
for (const n of [1, 2, 4, 8]) out.runs.push(await concurrent(n));
const rate = (n) => out.runs.find((r) => r.streams === n).aggregate_decode_tokens_per_second;
out.ratio_4_over_1 = rate(4) / rate(1);
out.ratio_8_over_1 = rate(8) / rate(1);
const alone = await longPromptTtft(0);
const loaded = await longPromptTtft(4);
out.long_prompt = {prompt_tokens: LONG, ttft_alone_ms: alone.ttft_ms,
                   ttft_with_4_decoding_ms: loaded.ttft_ms,
                   max_gap_of_the_4_while_it_prefills_ms: loaded.max_gap_ms};
out.peak_rss_bytes = processMemory(server.pid).hwm;
out.exit_code = await stopServer(server);
console.log(JSON.stringify(out, null, 2));
