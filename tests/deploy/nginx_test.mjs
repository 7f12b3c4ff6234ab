// deploy/nginx/snug.conf on loopback (Issue 13): two `snug serve` replicas behind nginx, run as
// this user with a temporary prefix. 32 streaming clients; one replica killed (SIGKILL) while
// they run: its in-flight streams end cut (the client sees the response end without [DONE]),
// every other request completes, new requests go to the survivor, nothing hangs. The replica
// restarted: traffic returns to it. Also: X-Session-Id affinity, and a 429 with Retry-After
// passed through, not retried on the other replica. Needs only node and nginx (no npm packages).
//   node nginx_test.mjs --snug PATH/snug --nginx PATH/nginx --conf deploy/nginx/snug.conf --out DIR
import assert from "node:assert/strict";
import {spawn} from "node:child_process";
import {mkdirSync, readFileSync, rmSync, writeFileSync} from "node:fs";
import {createServer} from "node:net";
import {join} from "node:path";

import {makeModel, parseArgs, sleep} from "../api/serve_helpers.mjs";

const args = parseArgs("node nginx_test.mjs --snug PATH --nginx PATH --conf FILE --out DIR",
                       ["snug", "nginx", "conf", "out"]);
const started = performance.now();
const elapsed = () => ((performance.now() - started) / 1000).toFixed(1) + " s";
const log = (text) => console.log(`[${elapsed()}] ${text}`);
rmSync(join(args.out, "nginx"), {recursive: true, force: true});
const model = makeModel(args.snug, args.out, "llama-tiny");

async function freePort() {
  return new Promise((resolve) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const {port} = server.address();
      server.close(() => resolve(port));
    });
  });
}

// A replica on a fixed port (it must come back on the same one), ready when /health says 200.
const PER_REPLICA = ["--parallel", "4", "--max-queue", "24", "--ctx", "512", "--batch-tokens",
                     "64", "-t", "1", "--max-body-bytes", "65536", "--memory", "256MiB"];
async function startReplica(port) {
  const child = spawn(args.snug, ["serve", model, "--port", String(port), ...PER_REPLICA],
                      {stdio: ["ignore", "ignore", "pipe"]});
  const replica = {child, port, log: "", exited: false};
  child.stderr.on("data", (data) => { replica.log += data; });
  child.on("exit", () => { replica.exited = true; });
  for (let i = 0; i < 300 && !replica.exited; i++) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/health`)).status === 200) return replica;
    } catch {
      // not listening yet
    }
    await sleep(50);
  }
  throw new Error(`replica on ${port} did not become ready:\n${replica.log}`);
}

const [portA, portB, portNginx] = [await freePort(), await freePort(), await freePort()];
const replicas = {A: await startReplica(portA), B: await startReplica(portB)};
const nameOf = (upstream) => (upstream ?? "").split(/,\s*/).pop() === `127.0.0.1:${portA}` ? "A"
    : (upstream ?? "").split(/,\s*/).pop() === `127.0.0.1:${portB}` ? "B" : `?${upstream}`;

// The shipped file with the test's addresses; the wrapper only adds what running nginx as this
// user needs (prefix paths) and a header naming the replica that answered.
const prefix = join(args.out, "nginx");
mkdirSync(join(prefix, "logs"), {recursive: true});
const shipped = readFileSync(args.conf, "utf8");
const conf = shipped.replaceAll("127.0.0.1:8081", `127.0.0.1:${portA}`)
                    .replaceAll("127.0.0.1:8082", `127.0.0.1:${portB}`)
                    .replace(/listen 8080;/, `listen 127.0.0.1:${portNginx};`);
assert.notEqual(conf, shipped);
writeFileSync(join(prefix, "snug.conf"), conf);
writeFileSync(join(prefix, "nginx.conf"), `
daemon off;
worker_processes 1;
pid ${prefix}/nginx.pid;
error_log ${prefix}/logs/error.log warn;
events { worker_connections 1024; }
http {
  access_log ${prefix}/logs/access.log;
  client_body_temp_path ${prefix}/client_body;
  proxy_temp_path ${prefix}/proxy;
  fastcgi_temp_path ${prefix}/fastcgi;
  uwsgi_temp_path ${prefix}/uwsgi;
  scgi_temp_path ${prefix}/scgi;
  add_header X-Test-Upstream $upstream_addr always;
  include ${prefix}/snug.conf;
}
`);
const nginx = spawn(args.nginx, ["-p", prefix, "-e", join(prefix, "logs/error.log"), "-c",
                                 join(prefix, "nginx.conf")], {stdio: ["ignore", "pipe", "pipe"]});
let nginxLog = "";
nginx.stdout.on("data", (d) => { nginxLog += d; });
nginx.stderr.on("data", (d) => { nginxLog += d; });
const base = `http://127.0.0.1:${portNginx}`;

let failure = null;
try {
  for (let i = 0; ; i++) {
    try {
      await fetch(`${base}/health`);
      break;
    } catch {
      assert.ok(i < 100 && nginx.exitCode === null, `nginx did not start:\n${nginxLog}`);
      await sleep(50);
    }
  }
  log(`replicas A :${portA}, B :${portB}; nginx :${portNginx}`);

  // One streaming completion through nginx. Returns {replica, status, outcome, events}:
  // outcome "done" (finish_reason then [DONE]), "cut" (the body ended early or the read failed),
  // or "error-event" (snug's own `data: {"error":...}`).
  const id = (await (await fetch(`${base}/v1/models`)).json()).data[0].id;
  async function run(index, {maxTokens = 48, session} = {}) {
    const headers = {"content-type": "application/json"};
    if (session) headers["x-session-id"] = session;
    const body = JSON.stringify({model: id, prompt: `client ${index}: once upon a time`,
                                 max_tokens: maxTokens, temperature: 1, seed: index, stream: true});
    const response = await fetch(`${base}/v1/completions`, {method: "POST", headers, body,
                                                           signal: AbortSignal.timeout(30000)});
    const result = {replica: nameOf(response.headers.get("x-test-upstream")),
                    status: response.status, retryAfter: response.headers.get("retry-after"),
                    outcome: "cut", events: 0};
    if (response.status !== 200) {
      await response.text();
      result.outcome = "refused";
      return result;
    }
    let text = "";
    try {
      const decoder = new TextDecoder();
      for await (const bytes of response.body) text += decoder.decode(bytes, {stream: true});
    } catch (error) {
      assert.notEqual(error.name, "TimeoutError", `stream ${index} hung`);
    }
    result.events = (text.match(/^data: /gm) ?? []).length;
    if (/^data: \{"error"/m.test(text)) result.outcome = "error-event";
    else if (/"finish_reason":"(stop|length)"/.test(text) && text.endsWith("data: [DONE]\n\n")) {
      result.outcome = "done";
    }
    return result;
  }
  // 1. Warm-up: both replicas answer, least_conn spreads.
  const warm = await Promise.all(Array.from({length: 8}, (_, i) => run(i, {maxTokens: 8})));
  assert.ok(warm.every((r) => r.outcome === "done"), JSON.stringify(warm));
  assert.ok(warm.some((r) => r.replica === "A") && warm.some((r) => r.replica === "B"),
            `least_conn did not spread: ${warm.map((r) => r.replica)}`);

  // 2. 32 streaming clients; A killed while they run.
  const clients = Array.from({length: 32}, (_, i) => run(100 + i, {maxTokens: 400}));
  await sleep(400);
  replicas.A.child.kill("SIGKILL");
  log("replica A killed");
  const results = await Promise.all(clients);
  const tally = (list) => list.reduce((t, r) => {
    const k = `${r.replica}:${r.outcome}`;
    t[k] = (t[k] ?? 0) + 1;
    return t;
  }, {});
  log(`32 clients: ${JSON.stringify(tally(results))}`);
  for (const r of results) {
    if (r.replica === "B") assert.equal(r.outcome, "done", `a stream on the survivor: ${JSON.stringify(r)}`);
    else assert.equal(r.replica, "A", JSON.stringify(r));
  }
  const cut = results.filter((r) => r.outcome !== "done");
  assert.ok(cut.length >= 1, "no stream was in flight on A when it was killed: the test proves nothing");
  assert.ok(cut.every((r) => r.outcome === "cut" || r.outcome === "error-event"));

  // 3. New requests go to the survivor (the first may meet A's closed port: nginx retries it,
  // since nothing was sent to the client yet).
  const after = await Promise.all(Array.from({length: 8}, (_, i) => run(200 + i, {maxTokens: 8})));
  log(`after the kill: ${JSON.stringify(tally(after))}`);
  assert.ok(after.every((r) => r.outcome === "done" && r.replica === "B"), JSON.stringify(after));

  // 4. A restarted: once its fail_timeout has passed, traffic returns to it.
  replicas.A = await startReplica(portA);
  log("replica A restarted");
  let back = false;
  for (let i = 0; i < 30 && !back; i++) {
    const batch = await Promise.all(Array.from({length: 4}, (_, j) => run(300 + 4 * i + j, {maxTokens: 4})));
    assert.ok(batch.every((r) => r.outcome === "done"), JSON.stringify(batch));
    back = batch.some((r) => r.replica === "A");
    if (!back) await sleep(500);
  }
  assert.ok(back, "traffic did not return to the restarted replica");
  log("traffic returned to A");

  // 5. Affinity by X-Session-Id: one conversation, one replica.
  for (const session of ["conversation-1", "conversation-2", "conversation-3"]) {
    const turns = [];
    for (let i = 0; i < 3; i++) turns.push(await run(400 + i, {maxTokens: 4, session}));
    assert.ok(turns.every((r) => r.outcome === "done" && r.replica === turns[0].replica),
              `session ${session} moved: ${turns.map((r) => r.replica)}`);
  }

  // 6. A 429 from a full replica is passed through with Retry-After, not retried on the other:
  // 32 + 8 at once on one conversation: its replica runs 4, queues 24, refuses the rest.
  const burst = await Promise.all(Array.from({length: 40}, (_, i) =>
      run(500 + i, {maxTokens: 64, session: "conversation-1"})));
  const refused = burst.filter((r) => r.status === 429);
  log(`burst on one session: ${JSON.stringify(tally(burst))}`);
  assert.ok(refused.length >= 1, "no 429 from a replica with 4 running and 24 queued of 40");
  assert.ok(refused.every((r) => Number(r.retryAfter) > 0), "a 429 lost its Retry-After");
  const home = burst.find((r) => r.status === 200).replica;
  assert.ok(burst.every((r) => r.replica === home), "a 429 was retried on the other replica");
  assert.ok(burst.every((r) => r.outcome === "done" || r.status === 429), JSON.stringify(tally(burst)));
  log(`PASS in ${elapsed()}`);
} catch (error) {
  failure = error;
} finally {
  nginx.kill("SIGTERM");
  for (const replica of Object.values(replicas)) replica.child.kill("SIGTERM");
}
if (failure) {
  console.error(`FAIL: ${failure.stack ?? failure}`);
  try {
    console.error(readFileSync(join(prefix, "logs/error.log"), "utf8").split("\n").slice(-20).join("\n"));
  } catch {
    // no log
  }
  process.exit(1);
}
