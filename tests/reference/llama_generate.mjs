// The reference: llama.cpp's prebuilt CPU library (npm node-llama-cpp, nothing compiled or
// downloaded) loads a GGUF and greedily generates. Used by the reference tests and by hand:
//   UV_THREADPOOL_SIZE=1 node llama_generate.mjs MODEL.gguf [--tokens N] [--prompt TEXT]
//                                               [--threads N] [--context N]
// prints one JSON object: prompt and generated token ids, the text, and whether every
// next-token distribution was finite (probabilities sum to 1, no NaN).
import {existsSync} from "node:fs";
import {dirname, join} from "node:path";
import {fileURLToPath} from "node:url";

const here = dirname(fileURLToPath(import.meta.url));

// node-llama-cpp comes from `make setup` (scripts/setup.sh runs npm install here). Without it the
// reference cannot run: say so and fail, never pass silently.
export async function importNodeLlamaCpp() {
  if (!existsSync(join(here, "node_modules", "node-llama-cpp", "package.json"))) {
    console.error("reference: tests/reference/node_modules is missing node-llama-cpp; " +
                  "run `make setup` (scripts/setup.sh installs the npm packages)");
    process.exit(1);
  }
  return await import("node-llama-cpp");
}

export async function loadLlama() {
  const {getLlama, LlamaLogLevel} = await importNodeLlamaCpp();
  return await getLlama({
    gpu: false, build: "never", usePrebuiltBinaries: true, skipDownload: true,
    maxThreads: 2, logLevel: LlamaLogLevel.error, progressLogs: false,
  });
}

// Loads `modelPath`, evaluates `prompt` (with BOS when the model asks for it) and takes
// `numTokens` greedy steps.
// threads: 2 for timings on the 2-core machine; the tests use 1, because ggml's spinning
// barriers turn every decode step into seconds when ctest runs other tests beside them.
export async function generate(llama, modelPath, {prompt = "Once upon a time", numTokens = 8,
                                                  contextSize = 256, threads = 2} = {}) {
  const started = performance.now();
  const model = await llama.loadModel({modelPath, gpuLayers: 0});
  const loadMs = performance.now() - started;
  const context = await model.createContext({contextSize, batchSize: 64, threads});
  const sequence = context.getSequence();
  const promptTokens = model.tokenize(prompt, false);
  if (model.tokens.shouldPrependBosToken && model.tokens.bos != null) {
    promptTokens.unshift(model.tokens.bos);
  }
  const tokens = [];
  const steps = [];
  let finite = true;
  // The whole distribution is checked on the first step only (building a 262144-entry map
  // costs a second); later steps check the chosen token's probability.
  const record = (step) => {
    let sum = 0;
    if (step.probabilities) {
      for (const probability of step.probabilities.values()) {
        if (!Number.isFinite(probability)) finite = false;
        sum += probability;
      }
      // node-llama-cpp sums in float32: over 262144 entries the sum drifts by ~1e-3.
      if (!(Math.abs(sum - 1) < 1e-2)) finite = false;
    }
    if (!Number.isFinite(step.confidence) || !(step.confidence > 0)) finite = false;
    tokens.push(step.token);
    steps.push({token: step.token, confidence: step.confidence,
                ...(step.probabilities ? {probability_sum: sum,
                                          distinct: step.probabilities.size} : {})});
  };
  for await (const step of sequence.evaluateWithMetadata(
      promptTokens, {probabilities: true, confidence: true}, {temperature: 0})) {
    record(step);
    break;
  }
  // One step per call: node-llama-cpp's generator ends early after some special tokens.
  while (tokens.length > 0 && tokens.length < numTokens && !model.isEogToken(tokens.at(-1))) {
    const before = tokens.length;
    for await (const step of sequence.evaluateWithMetadata(
        [tokens.at(-1)], {confidence: true}, {temperature: 0})) {
      record(step);
      break;
    }
    if (tokens.length === before) break;
  }
  const result = {
    model: modelPath,
    generate_ms: Math.round(performance.now() - started - loadMs),
    train_context: model.trainContextSize,
    prompt,
    prompt_tokens: promptTokens,
    tokens,
    text: model.detokenize(tokens),
    finite,
    steps,
    load_ms: Math.round(loadMs),
  };
  await context.dispose();
  await model.dispose();
  return result;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const option = (name, fallback) => {
    const index = args.indexOf(name);
    return index >= 0 ? args[index + 1] : fallback;
  };
  if (args.length === 0 || args[0].startsWith("--")) {
    console.error("usage: node llama_generate.mjs MODEL.gguf [--tokens N] [--prompt TEXT]");
    process.exit(2);
  }
  const llama = await loadLlama();
  const result = await generate(llama, args[0], {
    prompt: option("--prompt", "Once upon a time"),
    numTokens: Number(option("--tokens", "8")),
    contextSize: Number(option("--context", "256")),
    threads: Number(option("--threads", "2")),
  });
  console.log(JSON.stringify(result));
  process.exit(result.finite && result.tokens.length > 0 ? 0 : 1);
}
