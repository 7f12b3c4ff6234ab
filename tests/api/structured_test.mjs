// Structured outputs (issue 12): `response_format` through the official client's
// `chat.completions.parse` with a zod schema — nested objects, enums, arrays, `$ref` into
// `definitions` — on tiny models with RANDOM weights: the answers parse and
// validate because constrained decoding allows nothing else. Streamed and not, Gemma 3 and
// gpt-oss (Harmony: the grammar opens the final channel), json_object, /v1/completions, and
// 400s naming the schema path for what is not supported.
//   node structured_test.mjs --snug PATH/snug --out DIR
import assert from "node:assert/strict";
import {dirname} from "node:path";
import {fileURLToPath} from "node:url";

import {importOpenAI, makeModel, parseArgs, startServer, stopServer} from "./serve_helpers.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const args = parseArgs("node structured_test.mjs --snug PATH --out DIR", ["snug", "out"]);
const OpenAI = await importOpenAI(here);
const {z} = await import("zod");
const {zodResponseFormat} = await import("openai/helpers/zod");

// No free strings: with random weights a string ends only when a quote happens to be drawn,
// which can take longer than max_tokens (an answer cut by the length limit is not a valid
// document; a real model closes its strings). Enums, numbers, booleans, arrays and nesting.
const Size = z.enum(["small", "medium", "large"]).meta({id: "Size"});
// Shared subschemas become `definitions` reached by $ref. (Not recursive, and arrays only of
// enums: with random weights `,` is as likely as `]`, so arrays of objects, let alone a
// recursive tree, may not end within max_tokens.)
const Category = z.object({
  kind: z.enum(["tool", "part"]),
  sizes: z.array(Size),
}).meta({id: "Category"});
const Order = z.object({
  id: z.number().int(),
  size: Size,
  sizes: z.array(Size),
  priority: z.union([z.literal("low"), z.literal("high")]),
  weight: z.number(),
  rush: z.boolean(),
  note: z.enum(["none", "fragile"]).nullable(),
  category: Category,
});
const format = zodResponseFormat(Order, "order");
assert.ok(JSON.stringify(format).includes("#/definitions/"), "the schema uses $ref definitions");

const MAX_TOKENS = 1500;
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

async function structuredSuite(preset) {
  const model = makeModel(args.snug, args.out, preset);
  const server = await startServer(args.snug, model,
                                   ["--parallel", "2", "--ctx", "2048", "-t", "1",
                                    "--min-ctx", "2048"]);
  const client = new OpenAI({baseURL: `${server.base}/v1`, apiKey: "none", maxRetries: 0,
                             timeout: 300000});
  const id = (await client.models.list()).data[0].id;
  const messages = [{role: "user", content: "Describe an order as JSON."}];
  try {
    await check(`${preset}: parse() with a zod schema, random sampling`, async () => {
      for (const seed of [1, 2, 3]) {
        const completion = await client.chat.completions.parse({
          model: id, messages, response_format: format, max_tokens: MAX_TOKENS,
          temperature: 1, seed});
        const choice = completion.choices[0];
        assert.equal(choice.finish_reason, "stop", choice.message.content);
        assert.ok(choice.message.parsed, choice.message.content);
        Order.parse(choice.message.parsed);  // throws unless it validates
        assert.deepEqual(choice.message.parsed, JSON.parse(choice.message.content));
        assert.ok(!choice.message.reasoning, "a constrained answer has no reasoning");
      }
    });
    await check(`${preset}: streamed json_schema reassembles to a valid answer`, async () => {
      const stream = await client.chat.completions.create({
        model: id, messages, response_format: format, max_tokens: MAX_TOKENS, temperature: 1,
        seed: 7, stream: true});
      let text = "";
      let finish = null;
      let chunks = 0;
      for await (const chunk of stream) {
        for (const choice of chunk.choices) {
          text += choice.delta.content ?? "";
          finish = choice.finish_reason ?? finish;
        }
        ++chunks;
      }
      assert.equal(finish, "stop", text);
      assert.ok(chunks > 3, "streamed in pieces");
      Order.parse(JSON.parse(text));
    });
    await check(`${preset}: json_object answers an object`, async () => {
      const completion = await client.chat.completions.create({
        model: id, messages, response_format: {type: "json_object"}, max_tokens: MAX_TOKENS,
        temperature: 0.7, seed: 3});
      const choice = completion.choices[0];
      if (choice.finish_reason === "stop") {
        const value = JSON.parse(choice.message.content);
        assert.equal(typeof value, "object");
        assert.ok(value !== null && !Array.isArray(value));
      } else {
        assert.ok(choice.message.content.trimStart().startsWith("{"), choice.message.content);
      }
    });
    await check(`${preset}: n=2 choices both validate`, async () => {
      const completion = await client.chat.completions.parse({
        model: id, messages, response_format: format, max_tokens: MAX_TOKENS, temperature: 1,
        seed: 11, n: 2});
      assert.equal(completion.choices.length, 2);
      for (const choice of completion.choices) Order.parse(choice.message.parsed);
    });
  } finally {
    await stopServer(server);
  }
}

await structuredSuite("gemma3-tiny");
await structuredSuite("gptoss-tiny");

// Errors and /v1/completions, on one Gemma 3 server.
{
  const model = makeModel(args.snug, args.out, "gemma3-tiny");
  const server = await startServer(args.snug, model, ["--parallel", "2", "--ctx", "2048", "-t",
                                                      "1", "--min-ctx", "2048"]);
  const client = new OpenAI({baseURL: `${server.base}/v1`, apiKey: "none", maxRetries: 0});
  const id = (await client.models.list()).data[0].id;
  const schemaFormat = (schema) => ({type: "json_schema", json_schema: {name: "x", schema,
                                                                        strict: true}});
  const expect400 = async (request, param, pattern) => {
    await assert.rejects(request, (error) => {
      assert.equal(error.status, 400);
      assert.equal(error.param, param);
      assert.match(error.message, pattern);
      return true;
    });
  };
  try {
    await check("unsupported keyword: 400 naming its path", async () => {
      await expect400(client.chat.completions.create({
        model: id, messages: [{role: "user", content: "x"}], max_tokens: 8,
        response_format: schemaFormat({type: "object", properties: {
          tags: {type: "object", patternProperties: {"^a": {type: "string"}}}},
          required: ["tags"], additionalProperties: false})}),
        "response_format.json_schema.schema",
        /unsupported keyword 'patternProperties' at #\/properties\/tags/);
    });
    await check("a schema that admits nothing: 400", async () => {
      await expect400(client.chat.completions.create({
        model: id, messages: [{role: "user", content: "x"}], max_tokens: 8,
        response_format: schemaFormat({type: "object", properties: {a: {enum: []}},
                                       required: ["a"]})}),
        "response_format.json_schema.schema", /no JSON value satisfies this schema/);
    });
    await check("unknown response_format type and GBNF grammar: 400", async () => {
      await expect400(client.chat.completions.create({
        model: id, messages: [{role: "user", content: "x"}], max_tokens: 8,
        response_format: {type: "yaml"}}), "response_format.type", /not supported/);
      await expect400(client.completions.create({model: id, prompt: "x", max_tokens: 8,
                                                 grammar: "root ::= \"a\""}),
                      "grammar", /not supported/);
    });
    await check("/v1/completions with response_format", async () => {
      const completion = await client.completions.create({
        model: id, prompt: "An order:", max_tokens: MAX_TOKENS, temperature: 1, seed: 5,
        response_format: format});
      assert.equal(completion.choices[0].finish_reason, "stop", completion.choices[0].text);
      Order.parse(JSON.parse(completion.choices[0].text));
    });
  } finally {
    await stopServer(server);
  }
}

if (failures.length > 0) {
  console.log(`FAIL: ${failures.length} structured-output checks failed`);
  process.exit(1);
}
console.log("PASS: structured outputs");
