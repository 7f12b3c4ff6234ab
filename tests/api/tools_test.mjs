// Tool calling (issue 12) through the official client on tiny models with RANDOM weights: a
// two-round tool loop (call → tool result → answer) on gpt-oss and Gemma 4, tool_choice
// "required" and a named function forcing a call whose arguments validate with zod (constrained
// decoding), streamed calls reassembling to the non-streamed arguments, parallel_tool_calls
// false giving one call, Llama 3 forced calls, and a 400 naming a model without tool syntax.
//   node tools_test.mjs --snug PATH/snug --out DIR
import assert from "node:assert/strict";
import {dirname} from "node:path";
import {fileURLToPath} from "node:url";

import {importOpenAI, makeModel, parseArgs, startServer, stopServer} from "./serve_helpers.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const args = parseArgs("node tools_test.mjs --snug PATH --out DIR", ["snug", "out"]);
const OpenAI = await importOpenAI(here);
const {z} = await import("zod");
const {zodFunction} = await import("openai/helpers/zod");

// No free strings: with random weights a string ends only when a quote happens to be drawn.
const Weather = z.object({
  city: z.enum(["Paris", "Rome", "Oslo"]),
  unit: z.enum(["celsius", "fahrenheit"]),
  days: z.number().int(),
  hourly: z.boolean(),
});
const Time = z.object({zone: z.enum(["UTC", "CET"])});
const tools = [zodFunction({name: "get_weather", parameters: Weather,
                            description: "Weather in a city."}),
               zodFunction({name: "get_time", parameters: Time, description: "The time."})];
const schemas = {get_weather: Weather, get_time: Time};
const MAX_TOKENS = 400;
// What no answer may show as content: the formats' call markup.
const MARKUP = /<\|tool_call>|<tool_call\|>|to=functions\.|<\|call\|>|<\|channel\|>/;

const failures = [];
async function check(name, body) {
  try {
    await body();
    console.log(`ok   ${name}`);
  } catch (error) {
    failures.push(name);
    console.log(`FAIL ${name}: ${error.stack || error}`);
  }
}

function validCalls(message) {
  assert.ok(Array.isArray(message.tool_calls) && message.tool_calls.length > 0,
            JSON.stringify(message));
  for (const call of message.tool_calls) {
    assert.equal(call.type, "function");
    assert.match(call.id, /^call_/);
    assert.ok(call.function.name in schemas, call.function.name);
    schemas[call.function.name].parse(JSON.parse(call.function.arguments));
  }
  assert.ok(!MARKUP.test(message.content ?? ""), message.content);
}

async function streamedCalls(client, body) {
  const stream = await client.chat.completions.create({...body, stream: true});
  const calls = [];
  let finish = null;
  let content = "";
  let argumentPieces = 0;
  for await (const chunk of stream) {
    for (const choice of chunk.choices) {
      content += choice.delta.content ?? "";
      for (const piece of choice.delta.tool_calls ?? []) {
        if (piece.id) {
          assert.equal(piece.index, calls.length, "a new call has the next index");
          calls.push({id: piece.id, type: piece.type,
                      function: {name: piece.function.name, arguments: ""}});
        }
        calls[piece.index].function.arguments += piece.function?.arguments ?? "";
        if (!piece.id) ++argumentPieces;
      }
      finish = choice.finish_reason ?? finish;
    }
  }
  return {calls, finish, content, argumentPieces};
}

async function toolSuite(preset, {loop, parallel = false, ctx = "2048"}) {
  const model = makeModel(args.snug, args.out, preset);
  const server = await startServer(args.snug, model, ["--parallel", "2", "--ctx", ctx, "-t",
                                                      "1", "--min-ctx", ctx]);
  const client = new OpenAI({baseURL: `${server.base}/v1`, apiKey: "none", maxRetries: 0,
                             timeout: 300000});
  const id = (await client.models.list()).data[0].id;
  const question = [{role: "user", content: "What is the weather in Paris?"}];
  try {
    await check(`${preset}: tool_choice required forces a valid call`, async () => {
      for (const seed of [1, 2, 3]) {
        // One call: with random weights Gemma 4 would go on calling until max_tokens.
        const completion = await client.chat.completions.create({
          model: id, messages: question, tools, tool_choice: "required", max_tokens: MAX_TOKENS,
          temperature: 1, seed, parallel_tool_calls: false});
        const choice = completion.choices[0];
        assert.equal(choice.finish_reason, "tool_calls", JSON.stringify(choice.message));
        validCalls(choice.message);
      }
    });
    // Several calls in one turn: Gemma 4's syntax allows them (Harmony and Llama 3 make one).
    if (parallel) await check(`${preset}: parallel calls are each valid, none cut into content`,
                              async () => {
      const completion = await client.chat.completions.create({
        model: id, messages: question, tools, tool_choice: "required", max_tokens: 120,
        temperature: 1, seed: 8});
      const choice = completion.choices[0];
      assert.ok(["tool_calls", "length"].includes(choice.finish_reason), choice.finish_reason);
      validCalls(choice.message);
    });
    await check(`${preset}: a named function is the one called`, async () => {
      const completion = await client.chat.completions.create({
        model: id, messages: question, tools, max_tokens: MAX_TOKENS, temperature: 1, seed: 4,
        tool_choice: {type: "function", function: {name: "get_time"}}});
      const message = completion.choices[0].message;
      validCalls(message);
      assert.ok(message.tool_calls.every((call) => call.function.name === "get_time"));
    });
    await check(`${preset}: streamed calls reassemble to the non-streamed arguments`, async () => {
      const body = {model: id, messages: question, tools, tool_choice: "required",
                    max_tokens: MAX_TOKENS, temperature: 1, seed: 9, parallel_tool_calls: false};
      const whole = await client.chat.completions.create(body);
      const streamed = await streamedCalls(client, body);
      assert.equal(streamed.finish, "tool_calls");
      assert.ok(!MARKUP.test(streamed.content), streamed.content);
      const expected = whole.choices[0].message.tool_calls;
      assert.equal(streamed.calls.length, expected.length);
      for (let i = 0; i < expected.length; ++i) {
        assert.equal(streamed.calls[i].function.name, expected[i].function.name);
        assert.deepEqual(JSON.parse(streamed.calls[i].function.arguments),
                         JSON.parse(expected[i].function.arguments));
      }
      validCalls({tool_calls: streamed.calls, content: streamed.content});
      // Harmony's call body is its arguments: they stream as the model writes them.
      if (preset.startsWith("gptoss")) assert.ok(streamed.argumentPieces > 3);
    });
    await check(`${preset}: parallel_tool_calls false gives at most one call`, async () => {
      for (const seed of [5, 6]) {  // "auto": whatever the model writes, one call at most
        const auto = await client.chat.completions.create({
          model: id, messages: question, tools, max_tokens: 60, temperature: 1, seed,
          parallel_tool_calls: false});
        assert.ok((auto.choices[0].message.tool_calls ?? []).length <= 1);
        const completion = await client.chat.completions.create({
          model: id, messages: question, tools, tool_choice: "required", max_tokens: MAX_TOKENS,
          temperature: 1, seed, parallel_tool_calls: false});
        assert.equal(completion.choices[0].message.tool_calls.length, 1);
        validCalls(completion.choices[0].message);
      }
    });
    if (!loop) return;
    await check(`${preset}: two-round tool loop (call → result → answer)`, async () => {
      const messages = [...question];
      const first = await client.chat.completions.create({
        model: id, messages, tools, tool_choice: "required", max_tokens: MAX_TOKENS,
        temperature: 1, seed: 12, parallel_tool_calls: false});
      const call = first.choices[0].message;
      validCalls(call);
      messages.push(call);
      messages.push({role: "tool", tool_call_id: call.tool_calls[0].id,
                     content: JSON.stringify({temperature: 21})});
      // The answer after the result: random weights say anything, but the request renders the
      // whole loop, and no call markup reaches the content.
      const second = await client.chat.completions.create({
        model: id, messages, tools, max_tokens: 24, temperature: 1, seed: 13});
      const answer = second.choices[0];
      assert.ok(["stop", "length", "tool_calls"].includes(answer.finish_reason));
      assert.ok(!MARKUP.test(answer.message.content ?? ""), answer.message.content);
      if (answer.finish_reason === "tool_calls") assert.ok(answer.message.tool_calls.length > 0);
      assert.ok(second.usage.prompt_tokens > first.usage.prompt_tokens,
                "the second prompt holds the call and its result");
    });
  } finally {
    await stopServer(server);
  }
}

await toolSuite("gptoss-tiny", {loop: true});
await toolSuite("gemma4-tiny", {loop: true, parallel: true});
// Llama 3 lists the tools as indented JSON: ~2,000 tokens of the builtin vocabulary.
await toolSuite("llama-tiny", {loop: false, ctx: "4096"});

// A model whose chat format has no tool syntax, and bad tool requests.
{
  const model = makeModel(args.snug, args.out, "gemma3-tiny");
  const server = await startServer(args.snug, model, ["--parallel", "1", "--ctx", "1024", "-t",
                                                      "1", "--min-ctx", "1024"]);
  const client = new OpenAI({baseURL: `${server.base}/v1`, apiKey: "none", maxRetries: 0});
  const id = (await client.models.list()).data[0].id;
  try {
    await check("gemma3: tools → 400 naming the model", async () => {
      await assert.rejects(client.chat.completions.create({
        model: id, messages: [{role: "user", content: "x"}], tools, max_tokens: 4}),
        (error) => {
          assert.equal(error.status, 400);
          assert.equal(error.param, "tools");
          assert.ok(error.message.includes(id), error.message);
          assert.match(error.message, /no tool-call format/);
          return true;
        });
    });
  } finally {
    await stopServer(server);
  }
}

if (failures.length > 0) {
  console.log(`FAIL: ${failures.length} tool-calling checks failed`);
  process.exit(1);
}
console.log("PASS: tool calling");
