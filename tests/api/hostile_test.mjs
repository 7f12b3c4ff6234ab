// Issue 14's hostile LAN against the real `snug serve` (a tiny model, --parallel 2): at once,
// 20 clients sending their heads a byte every 300 ms, 300 idle keep-alive connections, a
// client that asks for a long streamed answer and never reads it, heads of 64 KB, a request
// line of 100 KB and 7 pipelined requests on one connection. Meanwhile /health and a short
// completion from a well-behaved client are answered within a second, the attackers get
// 414/431 and pipelined requests are answered in order, and the process's peak resident memory
// (VmHWM) stays within the plan it printed.
import assert from "node:assert/strict";
import {connect} from "node:net";

import {makeModel, parseArgs, processMemory, sleep, startServer, stopServer} from "./serve_helpers.mjs";

const args = parseArgs("node hostile_test.mjs --snug PATH --out DIR", ["snug", "out"]);
const FLAGS = ["--parallel", "2", "--max-queue", "4", "--ctx", "1024", "--memory", "256MiB",
               "-t", "1", "--max-body-bytes", "65536"];
const ATTACK_MS = 6000;

const model = makeModel(args.snug, args.out, "llama-tiny");
const server = await startServer(args.snug, model, FLAGS);
const port = Number(new URL(server.base).port);
const sockets = [];

// A raw connection; `received` collects what the server sends.
function open() {
  const socket = connect(port, "127.0.0.1");
  socket.received = "";
  socket.on("data", (data) => { socket.received += data.toString("latin1"); });
  socket.on("error", () => {});
  sockets.push(socket);
  return new Promise((resolve) => socket.on("connect", () => resolve(socket)));
}

// The status line of the first answer a socket gets, or "" once `ms` pass without one.
async function firstStatus(socket, ms = 3000) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const match = /^HTTP\/1\.1 (\d+)/.exec(socket.received);
    if (match) return Number(match[1]);
    await sleep(20);
  }
  return 0;
}

const failures = [];
const check = (ok, message) => { if (!ok) failures.push(message); };

// The attackers.
const slow = await Promise.all(Array.from({length: 20}, () => open()));
const head = "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + "a".repeat(100);
let slowByte = 0;
const trickle = setInterval(() => {
  for (const socket of slow) socket.write(head[slowByte % head.length]);
  slowByte++;
}, 300);
await Promise.all(Array.from({length: 300}, () => open()));  // idle keep-alive connections
const stalled = await open();
stalled.pause();  // never reads: the answer piles up in the kernel, then in snug's 64 KiB
const stallBody = JSON.stringify({prompt: "stall", max_tokens: 1000, stream: true});
stalled.write("POST /v1/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n" +
              `Content-Length: ${Buffer.byteLength(stallBody)}\r\n\r\n${stallBody}`);
const bigHeads = await Promise.all([open(), open()]);
for (const socket of bigHeads) {
  socket.write("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n");
  for (let i = 0; i < 64; i++) socket.write(`X-Pad-${i}: ${"p".repeat(1000)}\r\n`);
  socket.write("\r\n");
}
const longLine = await open();
longLine.write(`GET /${"l".repeat(100 * 1024)} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
const pipelined = await open();
let burst = "";
for (let i = 0; i < 7; i++) {
  burst += `GET /v1/models/nothing-${i} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`;
}
pipelined.write(burst);

// The well-behaved client, for ATTACK_MS: /health every 100 ms, a short completion every 500.
let worstHealthMs = 0, worstCompletionMs = 0, healthChecks = 0, completions = 0;
const started = Date.now();
while (Date.now() - started < ATTACK_MS) {
  const t0 = performance.now();
  const health = await fetch(`${server.base}/health`, {signal: AbortSignal.timeout(5000)});
  check(health.status === 200, `/health answered ${health.status}`);
  await health.arrayBuffer();
  worstHealthMs = Math.max(worstHealthMs, performance.now() - t0);
  healthChecks++;
  if (healthChecks % 5 === 0) {
    const t1 = performance.now();
    const answer = await fetch(`${server.base}/v1/completions`, {
      method: "POST", headers: {"content-type": "application/json"},
      body: JSON.stringify({prompt: "hello", max_tokens: 4}), signal: AbortSignal.timeout(5000)});
    check(answer.status === 200, `a completion answered ${answer.status}`);
    await answer.arrayBuffer();
    worstCompletionMs = Math.max(worstCompletionMs, performance.now() - t1);
    completions++;
  }
  await sleep(100);
}
clearInterval(trickle);

check(worstHealthMs < 1000, `/health took ${worstHealthMs.toFixed(0)} ms under attack`);
check(worstCompletionMs < 1000, `a completion took ${worstCompletionMs.toFixed(0)} ms under attack`);
for (const socket of bigHeads) {
  const status = await firstStatus(socket);
  check(status === 431, `a 64 KB head got ${status}, want 431`);
}
const lineStatus = await firstStatus(longLine);
check(lineStatus === 414, `a 100 KB request line got ${lineStatus}, want 414`);
const answered = [...pipelined.received.matchAll(/nothing-(\d)/g)].map((m) => Number(m[1]));
const order = [...new Set(answered)];
check(JSON.stringify(order) === "[0,1,2,3,4,5,6]",
      `pipelined requests answered ${JSON.stringify(order)}, want 0..6 in order`);
check((pipelined.received.match(/HTTP\/1\.1 404 /g) || []).length === 7,
      "7 pipelined requests did not get 7 answers");
// The slow heads were cut at 10 s at the latest; within ATTACK_MS none was answered 200.
const memory = processMemory(server.pid);
check(process.env.SNUG_SANITIZED || memory.hwm <= server.plan.totalBytes,
      `VmHWM ${memory.hwm} B is above the plan's ${server.plan.totalBytes} B`);
check(server.alive(), "snug serve died");

for (const socket of sockets) socket.destroy();
const code = await stopServer(server);
check(code === 0, `serve exited ${code} on SIGTERM`);
console.log(JSON.stringify({health_checks: healthChecks, worst_health_ms: Math.round(worstHealthMs),
                            completions, worst_completion_ms: Math.round(worstCompletionMs),
                            vm_hwm_bytes: memory.hwm, vm_rss_bytes: memory.rss,
                            plan_bytes: server.plan.totalBytes}));
if (failures.length > 0) {
  for (const failure of failures) console.log(`FAIL: ${failure}`);
  process.exit(1);
}
console.log("PASS hostile");
