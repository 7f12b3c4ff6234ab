// Reference test of the synthetic model generator: writes a tiny preset with `snug make-model`
// (the real vocabulary and several weight types, plus the built-in vocabulary) and checks that
// llama.cpp loads each file and generates tokens from finite distributions.
//   node synth_check.mjs --snug PATH/snug --preset gemma3-tiny --out DIR
import {execFileSync} from "node:child_process";
import {mkdirSync, rmSync} from "node:fs";
import {join} from "node:path";

import {generate, loadLlama} from "./llama_generate.mjs";

const args = process.argv.slice(2);
const option = (name) => {
  const index = args.indexOf(name);
  if (index < 0 || index + 1 >= args.length) {
    console.error(`usage: node synth_check.mjs --snug PATH --preset NAME --out DIR (missing ${name})`);
    process.exit(2);
  }
  return args[index + 1];
};
const snug = option("--snug");
const preset = option("--preset");
const outDir = option("--out");

const realVocab = preset.startsWith("gemma") ? "gemma3" : "gptoss";
const cases = [
  {vocab: realVocab, type: "q8_0"},
  {vocab: realVocab, type: "q4_0"},
  {vocab: realVocab, type: "f16"},
  {vocab: "builtin", type: "q8_0"},
];
if (preset.startsWith("gptoss")) cases.push({vocab: realVocab, type: "mxfp4"});

const llama = await loadLlama();
mkdirSync(outDir, {recursive: true});
let failures = 0;
for (const {vocab, type} of cases) {
  const path = join(outDir, `${preset}-${vocab}-${type}.gguf`);
  const label = `${preset} --vocab ${vocab} --type ${type}`;
  try {
    const started = performance.now();
    execFileSync(snug, ["make-model", preset, "--vocab", vocab, "--type", type, "--seed", "11",
                        "-q", "-o", path], {stdio: ["ignore", "inherit", "inherit"]});
    const writeMs = Math.round(performance.now() - started);
    const result = await generate(llama, path, {prompt: "Once upon a time, in a small town",
                                                numTokens: 8, threads: 1});
    // A random model may pick an end-of-generation token early: at least one token is enough.
    const ok = result.finite && result.tokens.length >= 1 && result.prompt_tokens.length > 1;
    console.log(JSON.stringify({case: label, ok, prompt_tokens: result.prompt_tokens.length,
                                tokens: result.tokens, text: result.text,
                                confidence: result.steps.map((s) => +s.confidence.toFixed(3)),
                                write_ms: writeMs, load_ms: result.load_ms,
                                generate_ms: result.generate_ms}));
    if (!ok) {
      console.error(`FAIL ${label}: ${result.finite ? "" : "non-finite distribution; "}` +
                    `${result.tokens.length} tokens ${JSON.stringify(result.steps)}`);
      failures++;
    }
  } catch (error) {
    console.error(`FAIL ${label}: ${error.message ?? error}`);
    failures++;
  } finally {
    rmSync(path, {force: true});
  }
}
console.log(failures === 0 ? `PASS ${preset}: ${cases.length} files loaded and generated`
                           : `FAILED ${preset}: ${failures} of ${cases.length}`);
process.exit(failures === 0 ? 0 : 1);
