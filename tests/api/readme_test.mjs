// Issue 15: every README example that talks to the server works verbatim against `make demo`.
// Serves the demo model as the Makefile's `demo` target does (same preset, type, vocabulary,
// file name and flags; only the port differs), extracts every fenced ```sh / ```js block of
// README.md that names http://127.0.0.1:8080, points it at this server's port, and runs it:
// sh blocks with bash (-e, pipefail), js blocks with node beside tests/api/node_modules. Each
// must exit 0 and print something, and nothing it prints may be an OpenAI error body.
//   node readme_test.mjs --snug PATH/snug --out DIR [--readme README.md]
import assert from "node:assert/strict";
import {execFileSync} from "node:child_process";
import {existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync} from "node:fs";
import {dirname, join, resolve} from "node:path";
import {fileURLToPath} from "node:url";

import {importOpenAI, parseArgs, startServer, stopServer} from "./serve_helpers.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const args = parseArgs("node readme_test.mjs --snug PATH --out DIR", ["snug", "out"],
                       {readme: join(here, "..", "..", "README.md")});
await importOpenAI(here);  // the js examples import it

// The examples: fenced blocks of a shell or JavaScript language that name the demo address.
const readme = readFileSync(args.readme, "utf8");
const examples = [];
for (const match of readme.matchAll(/^```(\w+)\n([\s\S]*?)^```$/gm)) {
  const [, language, code] = match;
  if (!/http:\/\/(127\.0\.0\.1|localhost):8080/.test(code)) continue;
  const line = readme.slice(0, match.index).split("\n").length;
  if (["sh", "bash", "shell", "console"].includes(language)) {
    examples.push({kind: "sh", line, code});
  } else if (["js", "javascript", "mjs"].includes(language)) {
    examples.push({kind: "js", line, code});
  } else {
    console.error(`FAIL README.md:${line}: a \`\`\`${language} example names the server; ` +
                  "this test runs only sh and js blocks");
    process.exit(1);
  }
}
assert.ok(examples.length >= 3, `only ${examples.length} examples found in ${args.readme}`);

// `make demo`: make-model gemma3-tiny --vocab builtin --type q8_0 -o models/demo.gguf, then
// `snug serve models/demo.gguf` (the id is the file name: demo).
const out = resolve(args.out);
mkdirSync(out, {recursive: true});
const model = join(out, "demo.gguf");
if (!existsSync(model)) {
  execFileSync(args.snug, ["make-model", "gemma3-tiny", "--vocab", "builtin", "--type", "q8_0",
                           "-q", "-o", model], {stdio: ["ignore", "inherit", "inherit"]});
}
const server = await startServer(args.snug, model, [], {env: {SNUG_API_KEY: ""}});
const port = new URL(server.base).port;

// js examples import "openai": run them from a folder whose node_modules is tests/api's.
const jsDir = join(out, "js");
mkdirSync(jsDir, {recursive: true});
if (!existsSync(join(jsDir, "node_modules"))) {
  symlinkSync(join(here, "node_modules"), join(jsDir, "node_modules"), "dir");
}

let failures = 0;
for (const example of examples) {
  const code = example.code.replaceAll(/(127\.0\.0\.1|localhost):8080/g, `127.0.0.1:${port}`);
  const where = `README.md:${example.line} (${example.kind})`;
  let output;
  try {
    if (example.kind === "sh") {
      output = execFileSync("bash", ["-e", "-o", "pipefail", "-c", code],
                            {encoding: "utf8", timeout: 60000, stdio: ["ignore", "pipe", "pipe"]});
    } else {
      const file = join(jsDir, `example-${example.line}.mjs`);
      writeFileSync(file, code);
      output = execFileSync(process.execPath, [file],
                            {encoding: "utf8", timeout: 60000, stdio: ["ignore", "pipe", "pipe"]});
      rmSync(file);
    }
    assert.ok(output.trim().length > 0, "it printed nothing");
    assert.ok(!/"error"\s*:\s*\{/.test(output), `it printed an error: ${output}`);
    console.log(`ok   ${where}`);
  } catch (error) {
    failures++;
    console.error(`FAIL ${where}:\n${code}\n${error.stderr ?? ""}${error.stdout ?? ""}` +
                  `${error.message}`);
  }
}

const exitCode = await stopServer(server);
if (exitCode !== 0) {
  failures++;
  console.error(`FAIL the demo server exited ${exitCode}:\n${server.log}`);
}
if (failures > 0) {
  console.error(`${failures} of ${examples.length} README examples failed`);
  process.exit(1);
}
console.log(`readme: all ${examples.length} examples work against the demo server`);
