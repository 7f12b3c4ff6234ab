// Prefill and decode speed and peak memory, snug against llama.cpp (the prebuilt library in npm
// node-llama-cpp) on the same GGUF files in the same run, 2 threads each, engines alternating
// rep by rep (each rep also measures the machine's read bandwidth, the yardstick for decode).
// Each engine runs in its own process so peak RSS is its own (llama.cpp's includes node's ~50 MB
// baseline, and for Q4_0 / MXFP4 its repacked copy of the weights beside the mapped file).
//   node bench/runtime_vs_llama.mjs --snug build/release/src/cli/snug
//        [--make gemma3-1b:q4_0,gemma4-12b:q4_k_m,...] [--models a.gguf,b.gguf] [--out models]
//        [--prefill 512] [--decode 128] [--ctx N] [--reps 3] [--mlock]
//        [--bandwidth build/release/bench/bandwidth] [--delete-made] [--table]
// --ctx sets both engines' context (default prefill + decode + 16): peak memory at a long
// context includes the KV cache each engine allocates for it. --mlock locks both engines'
// weights in RAM (a machine whose kernel pages out idle page cache, see the README).
// --delete-made deletes each file --make wrote (over 1 GB) after its rows.
// Prints one JSON object per model (every rep, the medians, the ratios' min and max, decode as
// a fraction of bandwidth / bytes read per token), then with --table a Markdown table.
import {execFileSync} from "node:child_process";
import {existsSync, mkdirSync, statSync, unlinkSync} from "node:fs";
import {dirname, join} from "node:path";
import {fileURLToPath} from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const option = (name, fallback) => {
  const index = args.indexOf(name);
  return index >= 0 && index + 1 < args.length ? args[index + 1] : fallback;
};
const flag = (name) => args.includes(name);
const prefillTokens = Number(option("--prefill", "512"));
const decodeTokens = Number(option("--decode", "128"));
const contextTokens = Number(option("--ctx", String(prefillTokens + decodeTokens + 16)));
const mlock = flag("--mlock");

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
  const model = await llama.loadModel({modelPath: args[1], gpuLayers: 0, useMlock: mlock});
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
                "[--models a.gguf,...] [--reps N] [--mlock] [--table]");
  process.exit(2);
}
const bandwidthTool = option("--bandwidth", join(dirname(snug), "..", "..", "bench", "bandwidth"));
const reps = Math.max(1, Number(option("--reps", "1")));
const outDir = option("--out", "models");
const jobs = (option("--models", "") || "").split(",").filter(Boolean).map((path) => ({path}));
for (const item of (option("--make", "") || "").split(",").filter(Boolean)) {
  const [preset, type] = item.split(":");
  jobs.push({path: join(outDir, `${preset}-${type}.gguf`), preset, type});
}

function makeModel(job) {
  if (!job.preset || existsSync(job.path)) return false;
  mkdirSync(outDir, {recursive: true});
  execFileSync(snug, ["make-model", job.preset, "--type", job.type, "-q", "-o", job.path],
               {stdio: ["ignore", "inherit", "inherit"]});
  return true;
}

// Bytes a decode step reads: every matrix but the token-embedding tables (one row a token),
// unless the output is tied to token_embd; MoE experts in the proportion a token uses.
function bytesPerToken(path) {
  const info = JSON.parse(execFileSync(snug, ["inspect", path, "--json"],
                                       {encoding: "utf8", maxBuffer: 1 << 28}));
  const hyper = Object.fromEntries(Object.entries(info.hyperparameters || {})
                                       .map(([key, value]) => [key.split(".").pop(), value]));
  const expertShare = hyper.expert_count ? hyper.expert_used_count / hyper.expert_count : 1;
  const tied = !info.tensors.some((t) => t.name === "output.weight");
  let bytes = 0;
  for (const t of info.tensors) {
    if (t.name === "token_embd.weight") bytes += tied ? t.bytes : 0;
    else if (t.name.includes("token_embd")) continue;  // per-layer embeddings: one row
    else bytes += t.name.includes("_exps") ? t.bytes * expertShare : t.bytes;
  }
  return bytes;
}

function readBandwidth() {
  if (!existsSync(bandwidthTool)) return null;
  const out = JSON.parse(execFileSync(bandwidthTool, [], {encoding: "utf8"}).trim());
  return out.read_gb_per_s_2_threads * 1e9;
}

function runSnug(path) {
  const out = JSON.parse(execFileSync(snug, [
    "run", path, "--tokens", promptIds(prefillTokens).join(","), "--bench", "--temperature", "0",
    "-n", String(decodeTokens), "--ctx", String(contextTokens), "--batch-tokens", "512", "-t", "2",
    ...(mlock ? ["--mlock"] : [])], {encoding: "utf8"}).trim().split("\n").pop());
  return {prefill: out.prefill_tokens_per_second, decode: out.decode_tokens_per_second,
          rss: out.peak_rss_bytes / 1048576};
}

function runLlama(path) {
  const out = JSON.parse(execFileSync(process.execPath, [fileURLToPath(import.meta.url),
    "--llama-child", path, "--prefill", String(prefillTokens), "--decode", String(decodeTokens),
    "--ctx", String(contextTokens), ...(mlock ? ["--mlock"] : [])],
    {encoding: "utf8", env: {...process.env, UV_THREADPOOL_SIZE: "1"}}).trim().split("\n").pop());
  return {prefill: out.prefill_tokens_per_second, decode: out.decode_tokens_per_second,
          rss: out.peak_rss_bytes / 1048576};
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};
const round = (value, digits = 2) => value == null ? null : +value.toFixed(digits);
const span = (values) => [round(Math.min(...values)), round(Math.max(...values))];

const rows = [];
for (const job of jobs) {
  const made = makeModel(job);
  const perToken = bytesPerToken(job.path);
  const runs = [];
  for (let rep = 0; rep < reps; rep++) {
    const bandwidth = readBandwidth();
    // Alternate which engine goes first, so neither always meets a warmer page cache.
    const first = rep % 2 === 0 ? runSnug : runLlama;
    const second = rep % 2 === 0 ? runLlama : runSnug;
    const a = first(job.path);
    const b = second(job.path);
    const [ours, theirs] = rep % 2 === 0 ? [a, b] : [b, a];
    runs.push({ours, theirs, bandwidth});
    console.error(`${job.path} rep ${rep + 1}/${reps}: snug ${ours.prefill.toFixed(1)} / ` +
                  `${ours.decode.toFixed(2)} tok/s, llama.cpp ${theirs.prefill.toFixed(1)} / ` +
                  `${theirs.decode.toFixed(2)} tok/s` +
                  (bandwidth ? `, bandwidth ${(bandwidth / 1e9).toFixed(1)} GB/s` : ""));
  }
  const of = (engine, key) => runs.map((run) => run[engine][key]);
  const ratios = (key) => runs.map((run) => run.ours[key] / run.theirs[key]);
  const fractions = (engine) => runs.filter((run) => run.bandwidth)
                                    .map((run) => run[engine].decode * perToken / run.bandwidth);
  const row = {
    model: job.path,
    reps,
    bytes_per_token: perToken,
    bandwidth_gb_per_s: span(runs.filter((r) => r.bandwidth).map((r) => r.bandwidth / 1e9)),
    snug: {prefill_tps: round(median(of("ours", "prefill")), 1),
           decode_tps: round(median(of("ours", "decode"))),
           peak_rss_mib: round(Math.max(...of("ours", "rss")), 0),
           decode_of_bandwidth: fractions("ours").length ? span(fractions("ours")) : null},
    llama_cpp: {prefill_tps: round(median(of("theirs", "prefill")), 1),
                decode_tps: round(median(of("theirs", "decode"))),
                peak_rss_mib: round(Math.max(...of("theirs", "rss")), 0),
                decode_of_bandwidth: fractions("theirs").length ? span(fractions("theirs")) : null},
    ratio: {prefill: span(ratios("prefill")), decode: span(ratios("decode")),
            peak_rss: round(Math.max(...of("ours", "rss")) / Math.max(...of("theirs", "rss")))},
    runs: runs.map((run) => ({snug: run.ours, llama_cpp: run.theirs,
                              bandwidth_gb_per_s: run.bandwidth && round(run.bandwidth / 1e9)})),
  };
  console.log(JSON.stringify(row));
  rows.push(row);
  if (made && flag("--delete-made") && statSync(job.path).size > 1e9) unlinkSync(job.path);
}

if (flag("--table")) {
  const range = ([low, high]) => low === high ? `${low}` : `${low}–${high}`;
  const percent = (pair) => pair ? range(pair.map((v) => Math.round(v * 100))) + " %" : "–";
  console.log(`\nprefill ${prefillTokens}, decode ${decodeTokens}, context ${contextTokens}, ` +
              `${reps} rep(s), 2 threads${mlock ? ", --mlock" : ""}; tok/s medians, ratios min–max\n`);
  console.log("| file | prefill snug / llama.cpp | decode snug / llama.cpp | " +
              "decode of bandwidth snug / llama.cpp | peak RSS MiB snug / llama.cpp |");
  console.log("|---|---|---|---|---|");
  for (const row of rows) {
    const name = row.model.split("/").pop().replace(/\.gguf$/, "");
    console.log(`| ${name} | ${row.snug.prefill_tps} / ${row.llama_cpp.prefill_tps} = ` +
                `**${range(row.ratio.prefill)}** | ${row.snug.decode_tps} / ` +
                `${row.llama_cpp.decode_tps} = **${range(row.ratio.decode)}** | ` +
                `${percent(row.snug.decode_of_bandwidth)} / ${percent(row.llama_cpp.decode_of_bandwidth)} | ` +
                `${row.snug.peak_rss_mib} / ${row.llama_cpp.peak_rss_mib} |`);
  }
}
