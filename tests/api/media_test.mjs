// Issue 11: images and audio through the official OpenAI client against `snug serve` on
// gemma4-unified-tiny — data-URL PNG, JPEG and WebP (made by ImageMagick), WAV (espeak-ng, then
// sox to 44.1 kHz stereo 24-bit), two images in one message, detail low / auto / high changing
// usage.prompt_tokens by exactly the soft-token counts of models.md §3.2, an oversized image
// refused from its header (400, no decode: peak memory does not move), a URL image refused
// unless --allow-media-urls names its host, a text-only model answering 400 naming the part, and
// README's curl example (the block naming 127.0.0.1:8081) run verbatim against this server.
//   node media_test.mjs --snug PATH/snug --out DIR
import assert from "node:assert/strict";
import {execFileSync} from "node:child_process";
import {mkdirSync, readFileSync} from "node:fs";
import {createServer} from "node:http";
import {dirname, join} from "node:path";
import {fileURLToPath} from "node:url";

import {importOpenAI, makeModel, parseArgs, processMemory, startServer, stopServer} from
    "./serve_helpers.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const args = parseArgs("node media_test.mjs --snug PATH --out DIR", ["snug", "out"]);
const OpenAI = await importOpenAI(here);
mkdirSync(args.out, {recursive: true});

// Test media, made by the tools a user has.
const file = (name) => join(args.out, name);
const run = (tool, toolArgs) => execFileSync(tool, toolArgs, {stdio: ["ignore", "ignore", "inherit"]});
run("convert", ["-size", "640x480", "gradient:red-blue", file("a.png")]);
run("convert", ["-size", "300x200", "plasma:fractal", "-seed", "3", file("b.jpg")]);
run("convert", ["-size", "200x300", "gradient:green-yellow", file("c.webp")]);
run("espeak-ng", ["-w", file("speech.wav"), "hello world, this is a test"]);
run("sox", [file("speech.wav"), "-r", "44100", "-c", "2", "-b", "24", file("speech44.wav")]);
const dataUrl = (name, type) => `data:${type};base64,${readFileSync(file(name)).toString("base64")}`;
const image = (url, detail) => ({type: "image_url", image_url: detail ? {url, detail} : {url}});
const audio = (name) => ({type: "input_audio",
                          input_audio: {data: readFileSync(file(name)).toString("base64"),
                                        format: "wav"}});

// §3.2 step 2, in 48-px model patches: the soft tokens of a w×h image at budget s.
function softTokens(w, h, s) {
  const f = Math.sqrt(s * 48 * 48 / (w * h));
  let th = Math.floor(f * h / 48), tw = Math.floor(f * w / 48);
  if (th === 0) [th, tw] = [1, Math.min(Math.floor(w / h), s)];
  else if (tw === 0) [tw, th] = [1, Math.min(Math.floor(h / w), s)];
  return th * tw;
}

// A PNG whose IHDR declares w×h (valid CRC) around one tiny IDAT: decoding it would need
// w·h·3 bytes, so a refusal that does not move peak memory was made from the header.
function pngHeaderOnly(w, h) {
  const png = Buffer.from(readFileSync(file("a.png")));
  const crcTable = Array.from({length: 256}, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc32 = (bytes) => {
    let c = 0xffffffff;
    for (const b of bytes) c = crcTable[(c ^ b) & 0xff] ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  png.writeUInt32BE(w, 16);
  png.writeUInt32BE(h, 20);
  png.writeUInt32BE(crc32(png.subarray(12, 29)), 29);
  return `data:image/png;base64,${png.toString("base64")}`;
}

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

const flags = ["--ctx", "2048", "--batch-tokens", "256", "-t", "1", "--memory", "2GiB",
               "--max-image-tokens", "560", "--image-tokens-high", "560"];
const unified = makeModel(args.snug, args.out, "gemma4-unified-tiny");
const server = await startServer(args.snug, unified, flags);
const client = new OpenAI({baseURL: `${server.base}/v1`, apiKey: "none", maxRetries: 0});
const ask = (content, extra = {}) => client.chat.completions.create(
    {model: "m", messages: [{role: "user", content}], max_tokens: 3, temperature: 0, ...extra});
const promptTokens = async (content) => (await ask(content)).usage.prompt_tokens;

await check("PNG, JPEG and WebP data URLs answer; detail changes prompt_tokens by §3.2", async () => {
  for (const [name, type, w, h] of [["a.png", "image/png", 640, 480],
                                    ["b.jpg", "image/jpeg", 300, 200],
                                    ["c.webp", "image/webp", 200, 300]]) {
    const url = dataUrl(name, type);
    const text = {type: "text", text: "What is in this picture?"};
    const low = await promptTokens([text, image(url, "low")]);
    const auto = await promptTokens([text, image(url)]);
    const high = await promptTokens([text, image(url, "high")]);
    assert.equal(auto - low, softTokens(w, h, 280) - softTokens(w, h, 70), name);
    assert.equal(high - low, softTokens(w, h, 560) - softTokens(w, h, 70), name);
    assert.ok(low > softTokens(w, h, 70), name);
  }
  // 640×480: 63 (low), 266 (auto), 540 (high).
  assert.deepEqual([softTokens(640, 480, 70), softTokens(640, 480, 280),
                    softTokens(640, 480, 560)], [63, 266, 540]);
});

await check("two images in one message count both", async () => {
  const png = image(dataUrl("a.png", "image/png"), "low");
  const jpeg = image(dataUrl("b.jpg", "image/jpeg"), "low");
  const text = {type: "text", text: "Compare them."};
  const one = await promptTokens([text, png]);
  const two = await promptTokens([text, png, jpeg]);
  // The second image's soft tokens plus its markers (<|image>, <image|>, newlines).
  const extra = two - one - softTokens(300, 200, 70);
  assert.ok(extra >= 2 && extra <= 6, `markup tokens ${extra}`);
  const answer = await ask([text, png, jpeg]);
  assert.equal(answer.choices[0].message.role, "assistant");
});

await check("WAV audio (16-bit mono 22.05 kHz and 24-bit stereo 44.1 kHz) counts its frames",
            async () => {
  const text = {type: "text", text: "What is said here?"};
  const without = await promptTokens([text]);
  // espeak-ng writes 22050 Hz: resampled to 16 kHz, then 640-sample frames, plus <|audio>
  // and <audio|>.
  const wav = readFileSync(file("speech.wav"));
  const samples = wav.readUInt32LE(wav.indexOf("data") + 4) / 2;
  const frames = Math.ceil(Math.ceil(samples * 320 / 441) / 640);
  assert.equal(await promptTokens([text, audio("speech.wav")]) - without, frames + 2);
  const stereo = await promptTokens([text, audio("speech44.wav")]) - without - 2;
  assert.ok(Math.abs(stereo - frames) <= 1, `${stereo} vs ${frames} frames`);
});

await check("an oversized image is a 400 from its header, never decoded", async () => {
  const before = processMemory(server.pid).hwm;
  await assert.rejects(
      ask([{type: "text", text: "x"}, image(pngHeaderOnly(20000, 20000))]),
      (error) => error instanceof OpenAI.BadRequestError &&
                 error.param === "messages[0].content[1]" &&
                 /20000×20000 pixels; the limit is 16384×16384/.test(error.message));
  // Decoding would have needed 1.2 GB.
  assert.ok(processMemory(server.pid).hwm - before < 64 << 20, "peak memory moved");
});

await check("README's media curl example answers", async () => {
  const readme = readFileSync(join(here, "..", "..", "README.md"), "utf8");
  const blocks = [...readme.matchAll(/^```sh\n([\s\S]*?)^```$/gm)]
      .map((match) => match[1]).filter((code) => code.includes("127.0.0.1:8081/v1/chat"));
  assert.equal(blocks.length, 1, "one README block sends media to 127.0.0.1:8081");
  const dir = file("readme");
  mkdirSync(dir, {recursive: true});
  run("convert", ["-size", "320x240", "gradient:red-blue", join(dir, "photo.png")]);
  run("espeak-ng", ["-w", join(dir, "note.wav"), "Remind me to buy milk"]);
  const port = new URL(server.base).port;
  const output = execFileSync("bash", ["-e", "-o", "pipefail", "-c",
                                       blocks[0].replaceAll("127.0.0.1:8081", `127.0.0.1:${port}`)],
                              {cwd: dir, encoding: "utf8"});
  const answer = JSON.parse(output);
  assert.equal(answer.object, "chat.completion", output);
  assert.ok(answer.usage.prompt_tokens > softTokens(320, 240, 70), output);
});

await check("a URL image is refused without --allow-media-urls", async () => {
  await assert.rejects(
      ask([image("https://example.com/cat.png")]),
      (error) => error instanceof OpenAI.BadRequestError &&
                 error.param === "messages[0].content[0].image_url.url" &&
                 /--allow-media-urls/.test(error.message));
});
await stopServer(server);

await check("with --allow-media-urls HOST, that host's image URLs are fetched", async () => {
  const png = readFileSync(file("a.png"));
  const origin = createServer((request, response) => {
    if (request.url === "/a.png") {
      response.writeHead(200, {"content-type": "image/png"}).end(png);
    } else {
      response.writeHead(302, {location: "http://elsewhere.example/a.png"}).end();
    }
  });
  await new Promise((resolve) => origin.listen(0, "127.0.0.1", resolve));
  const base = `http://127.0.0.1:${origin.address().port}`;
  const fetching = await startServer(args.snug, unified, [...flags, "--allow-media-urls",
                                                          "127.0.0.1"]);
  try {
    const fetchClient = new OpenAI({baseURL: `${fetching.base}/v1`, apiKey: "none",
                                    maxRetries: 0});
    const answer = await fetchClient.chat.completions.create(
        {model: "m", max_tokens: 2, messages: [{role: "user", content: [
            {type: "text", text: "x"}, image(`${base}/a.png`, "low")]}]});
    assert.ok(answer.usage.prompt_tokens > 63);
    await assert.rejects(
        fetchClient.chat.completions.create(
            {model: "m", max_tokens: 2, messages: [{role: "user", content: [
                image(`${base}/moved.png`)]}]}),
        (error) => error instanceof OpenAI.BadRequestError && /redirect/.test(error.message));
  } finally {
    await stopServer(fetching);
    origin.close();
  }
});

await check("a text-only model answers 400 naming the part", async () => {
  const text = await startServer(args.snug, makeModel(args.snug, args.out, "gemma4-tiny"),
                                 ["--ctx", "256", "-t", "1", "--memory", "1GiB"]);
  try {
    const textClient = new OpenAI({baseURL: `${text.base}/v1`, apiKey: "none", maxRetries: 0});
    await assert.rejects(
        textClient.chat.completions.create(
            {model: "m", messages: [{role: "user", content: [
                {type: "text", text: "x"}, image(dataUrl("a.png", "image/png"))]}]}),
        (error) => error instanceof OpenAI.BadRequestError &&
                   error.param === "messages[0].content[1]" && /takes no images/.test(error.message));
  } finally {
    await stopServer(text);
  }
});

if (failures > 0) {
  console.error(`${failures} check(s) failed`);
  process.exit(1);
}
console.log("all media API checks passed");
