// Issue 14's soak: N short requests (default 10,000; CI runs a short version) against
// `snug serve --parallel 2`, four clients at a time, mixed streaming, non-streaming and
// cancelled (the client hangs up after its first event or at once). At 0, N/4, N/2 and N
// requests, with the server idle: RSS, VmHWM, threads and open file descriptors. They stay
// flat: the same threads and descriptors as after the first quarter, RSS within 8 MiB of it,
// VmHWM within the plan.
import assert from "node:assert/strict";
import {readdirSync, readFileSync} from "node:fs";

import {makeModel, parseArgs, processMemory, startServer, stopServer, waitIdle} from "./serve_helpers.mjs";

const args = parseArgs("node soak_test.mjs --snug PATH --out DIR [--requests N]", ["snug", "out"],
                       {requests: "10000"});
const TOTAL = Number(args.requests);
const CLIENTS = 4;
const FLAGS = ["--parallel", "2", "--max-queue", "4", "--ctx", "512", "--memory", "256MiB",
               "-t", "1", "--max-body-bytes", "65536"];

const model = makeModel(args.snug, args.out, "llama-tiny");
const server = await startServer(args.snug, model, FLAGS);

function sample(requests) {
  const status = readFileSync(`/proc/${server.pid}/status`, "utf8");
  const {rss, hwm} = processMemory(server.pid);
  return {requests, rss, hwm, threads: Number(/^Threads:\s+(\d+)/m.exec(status)[1]),
          fds: readdirSync(`/proc/${server.pid}/fd`).length};
}

const statuses = {};
async function one(i) {
  const kind = i % 3;  // 0: whole answer, 1: stream, 2: cancelled
  const controller = new AbortController();
  try {
    const response = await fetch(`${server.base}/v1/completions`, {
      method: "POST", headers: {"content-type": "application/json"}, signal: controller.signal,
      body: JSON.stringify({prompt: `soak ${i}`, max_tokens: kind === 2 ? 64 : 4,
                            stream: kind !== 0, temperature: 0.8, seed: i})});
    statuses[response.status] = (statuses[response.status] ?? 0) + 1;
    if (kind === 2) {
      if (i % 2 === 0) await response.body.getReader().read();  // one event, then hang up
      controller.abort();
      return;
    }
    await response.arrayBuffer();
  } catch (error) {
    if (error.name !== "AbortError") throw error;
  }
}

let next = 0;
async function client(until) {
  while (next < until) await one(next++);
}
const samples = [];
await waitIdle(server);
samples.push(sample(0));
const started = Date.now();
for (const mark of [TOTAL / 4, TOTAL / 2, TOTAL].map(Math.round)) {
  await Promise.all(Array.from({length: CLIENTS}, () => client(mark)));
  await waitIdle(server);
  await new Promise((resolve) => setTimeout(resolve, 300));  // hung-up connections closed
  samples.push(sample(mark));
}
const seconds = (Date.now() - started) / 1000;
const code = await stopServer(server);

console.log(JSON.stringify({requests: TOTAL, seconds: Math.round(seconds), statuses, samples}));
const [, quarter, , last] = samples;
assert.equal(code, 0, "serve did not exit 0 on SIGTERM");
// A cancelled request holds its slot until the server sees the hang-up, so the next ones may
// briefly find the queue full (429); nothing else.
assert.ok(Object.keys(statuses).every((s) => s === "200" || s === "429") &&
          (statuses[200] ?? 0) >= 0.9 * TOTAL, `answers: ${JSON.stringify(statuses)}`);
assert.equal(last.threads, quarter.threads, "threads grew");
assert.ok(last.fds <= quarter.fds + 2, `open descriptors grew: ${quarter.fds} → ${last.fds}`);
assert.ok(last.rss - quarter.rss <= 8 << 20, `RSS grew by ${last.rss - quarter.rss} B`);
assert.ok(last.hwm <= server.plan.totalBytes, `VmHWM ${last.hwm} B above the plan's ${server.plan.totalBytes}`);
console.log("PASS soak");
