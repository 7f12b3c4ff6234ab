// Prefill and decode speed and peak memory, snug against llama.cpp (the prebuilt library in npm
// node-llama-cpp) on the same GGUF files in the same run, 2 threads each. Each engine runs in
// its own process so peak RSS is its own (llama.cpp's includes node's ~50 MB baseline, and for
// Q4_0 / MXFP4 its repacked copy of the weights beside the mapped file).
//   node bench/runtime_vs_llama.mjs --snug build/release/src/cli/snug \
//        [--make gemma3-1b:q4_0,gemma3-1b:q8_0,llama-3.2-1b:q4_0,llama-3.2-1b:q8_0]
//        [--models a.gguf,b.gguf] [--out models] [--prefill 512] [--decode 128] [--ctx N]
// --ctx sets both engines' context (default prefill + decode + 16): peak memory at a long
// context includes the KV cache each engine allocates for it.
// Prints one JSON object per model and engine, then the snug / llama.cpp ratios.
import {execFileSync} from "node:child_process";
import {existsSync, mkdirSync} from "node:fs";
import {dirname, join} from "node:path";
import {fileURLToPath} from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const option = (name, fallback) => {
  const index = args.indexOf(name);
  return index >= 0 && index + 1 < args.length ? args[index + 1] : fallback;
};
const prefillTokens = Number(option("--prefill", "512"));
const decodeTokens = Number(option("--decode", "128"));
const contextTokens = Number(option("--ctx", String(prefillTokens + decodeTokens + 16)));

// Same pseudo-random prompt ids for both engines (ids inside every vocabulary used here).
function promptIds(count) {
  let state = 12345;
  const ids = [];
  for (let i = 0; i < count; i++) {
    state = (state * 1103515245 + 12345) % 2147483648;
    ids.push(1000 + (state % 20000));
  }
  return ids;
}

// --- child mode: measure llama.cpp in this process ------------------------------------------
if (args[0] === "--llama-child") {
  const {loadLlama} = await import(join(here, "..", "tests", "reference", "llama_generate.mjs"));
  const llama = await loadLlama();
  const model = await llama.loadModel({modelPath: args[1], gpuLayers: 0});
  const context = await model.createContext({contextSize: contextTokens,
                                             batchSize: 512, threads: 2});
  const sequence = context.getSequence();
  const prompt = promptIds(prefillTokens);
  let start = performance.now();
  await sequence.evaluateWithoutGeneratingNewTokens(prompt);
  const prefillSeconds = (performance.now() - start) / 1000;
  let generated = 0;
  start = performance.now();
  for await (const token of sequence.evaluate([prompt[prompt.length - 1]], {temperature: 0})) {
    void token;
    if (++generated >= decodeTokens) break;
  }
  const decodeSeconds = (performance.now() - start) / 1000;
  console.log(JSON.stringify({
    prefill_tokens_per_second: prefillTokens / prefillSeconds,
    decode_tokens_per_second: generated / decodeSeconds,
    peak_rss_bytes: process.resourceUsage().maxRSS * 1024,
  }));
  process.exit(0);
}

// --- parent mode ------------------------------------------------------------------------------
const snug = option("--snug");
if (!snug) {
  console.error("usage: node bench/runtime_vs_llama.mjs --snug PATH [--make preset:type,...] " +
                "[--models a.gguf,...]");
  process.exit(2);
}
const outDir = option("--out", "models");
const models = (option("--models", "") || "").split(",").filter(Boolean);
for (const item of (option("--make", "") || "").split(",").filter(Boolean)) {
  const [preset, type] = item.split(":");
  const path = join(outDir, `${preset}-${type}.gguf`);
  if (!existsSync(path)) {
    mkdirSync(outDir, {recursive: true});
    execFileSync(snug, ["make-model", preset, "--type", type, "-o", path],
                 {stdio: ["ignore", "inherit", "inherit"]});
  }
  models.push(path);
}

const results = [];
for (const path of models) {
  const ours = JSON.parse(execFileSync(snug, [
    "run", path, "--tokens", promptIds(prefillTokens).join(","), "--bench", "--temperature", "0",
    "-n", String(decodeTokens), "--ctx", String(contextTokens),
    "--batch-tokens", "512", "-t", "2"], {encoding: "utf8"}).trim().split("\n").pop());
  const theirs = JSON.parse(execFileSync(process.execPath, [fileURLToPath(import.meta.url),
    "--llama-child", path, "--prefill", String(prefillTokens), "--decode", String(decodeTokens),
    "--ctx", String(contextTokens)],
    {encoding: "utf8", env: {...process.env, UV_THREADPOOL_SIZE: "1"}}).trim().split("\n").pop());
  const row = {
    model: path,
    snug: {prefill_tps: +ours.prefill_tokens_per_second.toFixed(1),
           decode_tps: +ours.decode_tokens_per_second.toFixed(1),
           peak_rss_mib: +(ours.peak_rss_bytes / 1048576).toFixed(0)},
    llama_cpp: {prefill_tps: +theirs.prefill_tokens_per_second.toFixed(1),
                decode_tps: +theirs.decode_tokens_per_second.toFixed(1),
                peak_rss_mib: +(theirs.peak_rss_bytes / 1048576).toFixed(0)},
  };
  row.ratio = {prefill: +(row.snug.prefill_tps / row.llama_cpp.prefill_tps).toFixed(2),
               decode: +(row.snug.decode_tps / row.llama_cpp.decode_tps).toFixed(2),
               peak_rss: +(row.snug.peak_rss_mib / row.llama_cpp.peak_rss_mib).toFixed(2)};
  console.log(JSON.stringify(row));
  results.push(row);
}
