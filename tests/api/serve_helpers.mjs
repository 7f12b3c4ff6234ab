// What the serving acceptance tests (load, equality, stress) and bench/serve_bench.mjs share:
// arguments, synthetic models, starting the real `snug serve` on a free port and reading the
// plan it logged, its /metrics, and its memory as the kernel counts it (/proc/PID/status).
import {execFileSync, spawn} from "node:child_process";
import {existsSync, mkdirSync, readFileSync} from "node:fs";
import {join} from "node:path";

// `--name value` arguments; `required` names must be present.
export function parseArgs(usage, required, defaults = {}) {
  const args = process.argv.slice(2);
  const values = {...defaults};
  for (let i = 0; i < args.length; i++) {
    if (!args[i].startsWith("--")) continue;
    values[args[i].slice(2)] = i + 1 < args.length ? args[i + 1] : "";
    i++;
  }
  for (const name of required) {
    if (values[name] === undefined) {
      console.error(`usage: ${usage} (missing --${name})`);
      process.exit(2);
    }
  }
  return values;
}

// Unref'd: a pending timer must not keep a finished test alive.
export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms).unref());

// The official client from tests/api/node_modules, or exit with the advice to install it.
export async function importOpenAI(here) {
  if (!existsSync(join(here, "node_modules", "openai"))) {
    console.error("FAIL: tests/api/node_modules/openai is missing: run scripts/setup.sh " +
                  "(or `npm install` in tests/api)");
    process.exit(1);
  }
  return (await import("openai")).default;
}

// A synthetic model written by `snug make-model` (kept when it exists: the same seed gives the
// same file).
export function makeModel(snug, dir, preset, {type = "q8_0", seed = 5, vocab = "builtin"} = {}) {
  mkdirSync(dir, {recursive: true});
  const path = join(dir, `${preset}-${type}-${vocab}-${seed}.gguf`);
  if (!existsSync(path)) {
    execFileSync(snug, ["make-model", preset, "--vocab", vocab, "--type", type, "--seed",
                        String(seed), "-q", "-o", path], {stdio: ["ignore", "inherit", "inherit"]});
  }
  return path;
}

// "VmRSS" and "VmHWM" of a process, in bytes.
export function processMemory(pid) {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const field = (name) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(status)[1]) * 1024;
  return {rss: field("VmRSS"), hwm: field("VmHWM")};
}

// Starts `snug serve MODEL --port 0 FLAGS` and waits until /health answers 200. The port and
// the plan come from its log: "listening on http://127.0.0.1:PORT" and
// "plan: S × C tokens, total X (N B) of a budget of Y (M B, ...)".
export async function startServer(snug, model, flags, {env = {}, readyMs = 60000} = {}) {
  const child = spawn(snug, ["serve", model, "--port", "0", ...flags],
                      {env: {...process.env, ...env}, stdio: ["ignore", "ignore", "pipe"]});
  const server = {child, pid: child.pid, log: "", exitCode: null, signal: null};
  child.stderr.on("data", (data) => { server.log += data; });
  server.exited = new Promise((resolve) => child.on("exit", (code, signal) => {
    server.exitCode = code;
    server.signal = signal;
    resolve();
  }));
  server.alive = () => server.exitCode === null && server.signal === null;
  const deadline = Date.now() + readyMs;
  while (Date.now() < deadline && server.alive()) {
    const port = /listening on http:\/\/[^:]+:(\d+)/.exec(server.log);
    if (port && !server.base) server.base = `http://127.0.0.1:${port[1]}`;
    if (server.base) {
      try {
        if ((await fetch(`${server.base}/health`)).status === 200) break;
      } catch {
        // not accepting yet
      }
    }
    await sleep(50);
  }
  const plan = /plan: (\d+) × (\d+) tokens, total .*? \((\d+) B\) of a budget of .*? \((\d+) B,/
      .exec(server.log);
  if (!server.alive() || !server.base || !plan) {
    child.kill("SIGKILL");
    throw new Error(`snug serve did not become ready (exit ${server.exitCode}):\n${server.log}`);
  }
  server.plan = {sequences: Number(plan[1]), contextTokens: Number(plan[2]),
                 totalBytes: Number(plan[3]), budgetBytes: Number(plan[4])};
  return server;
}

// SIGTERM, then the exit code (SIGKILL after `graceMs`).
export async function stopServer(server, graceMs = 20000) {
  if (!server.alive()) return server.exitCode;
  server.child.kill("SIGTERM");
  const timer = setTimeout(() => server.child.kill("SIGKILL"), graceMs);
  await server.exited;
  clearTimeout(timer);
  return server.exitCode;
}

// The unlabelled samples of /metrics: {snug_queue_depth: 0, ...}.
export async function metrics(server, key) {
  const headers = key ? {authorization: `Bearer ${key}`} : {};
  const text = await (await fetch(`${server.base}/metrics`, {headers})).text();
  const values = {};
  for (const line of text.split("\n")) {
    const match = /^([a-z_:]+) (\S+)$/.exec(line);
    if (match) values[match[1]] = Number(match[2]);
  }
  return values;
}

// Waits until the engine holds no sequence and no queued request; returns the last metrics.
export async function waitIdle(server, key, timeoutMs = 10000) {
  const deadline = Date.now() + timeoutMs;
  let last = {};
  while (Date.now() < deadline) {
    last = await metrics(server, key);
    if (last.snug_running_sequences === 0 && last.snug_queue_depth === 0) return last;
    await sleep(20);
  }
  return last;
}

// Reads a text/event-stream response to its end: the parsed `data:` events, and whether the
// last one was [DONE].
export async function readSse(response) {
  const text = await response.text();
  const events = [];
  let done = false;
  for (const block of text.split("\n\n")) {
    const data = block.split("\n").filter((l) => l.startsWith("data: ")).map((l) => l.slice(6));
    if (data.length === 0) continue;  // a comment (keep-alive)
    const payload = data.join("\n");
    if (payload === "[DONE]") {
      done = true;
      continue;
    }
    if (done) throw new Error(`an event after [DONE]: ${payload}`);
    events.push(JSON.parse(payload));
  }
  return {events, done};
}

// A deterministic token-id prompt of `length` ids in [first, first + span) (ids of ordinary
// vocabulary entries), different for each `salt`.
export function tokenPrompt(length, salt, {first = 40, span = 200} = {}) {
  const prompt = [];
  let state = (salt * 2654435761) >>> 0;
  for (let i = 0; i < length; i++) {
    state = (state * 1103515245 + 12345) >>> 0;
    prompt.push(first + (state >>> 8) % span);
  }
  return prompt;
}

// The `data:` events of a text/event-stream response as they arrive: {data, ms} with `data`
// parsed (or the string "[DONE]") and `ms` the performance.now() of its arrival.
export async function* sseEvents(response) {
  const decoder = new TextDecoder();
  let buffer = "";
  for await (const bytes of response.body) {
    buffer += decoder.decode(bytes, {stream: true});
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const data = block.split("\n").filter((l) => l.startsWith("data: ")).map((l) => l.slice(6));
      if (data.length === 0) continue;
      const payload = data.join("\n");
      yield {data: payload === "[DONE]" ? payload : JSON.parse(payload), ms: performance.now()};
    }
  }
}
