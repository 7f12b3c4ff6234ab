// snug's page: a chat that streams from /v1/chat/completions (Markdown rendered by marked and
// sanitized by DOMPurify, reasoning folded) and a status view charting /metrics. Everything is
// same-origin: the server's Content-Security-Policy allows nothing else.
import DOMPurify from "dompurify";
import {marked} from "marked";

import {LineChart} from "./charts.js";
import {parsePrometheus, readSse} from "./protocol.js";

const $ = (id) => document.getElementById(id);
const KEY_STORAGE = "snug-api-key";
const state = {model: null, history: [], images: [], controller: null};

// --- The API key: asked once, on the first 401, kept for this tab only. ---
function authHeaders() {
  const key = sessionStorage.getItem(KEY_STORAGE);
  return key ? {Authorization: `Bearer ${key}`} : {};
}
function askKey() {
  return new Promise((resolve) => {
    const dialog = $("key-dialog");
    dialog.addEventListener("close", () => {
      const key = $("key-input").value.trim();
      if (key) sessionStorage.setItem(KEY_STORAGE, key);
      resolve(Boolean(key));
    }, {once: true});
    dialog.showModal();
  });
}
// fetch with the key; a 401 asks for it (once per attempt) and retries.
async function api(path, options = {}) {
  for (let attempt = 0; ; attempt++) {
    const response = await fetch(path, {...options, headers: {...options.headers, ...authHeaders()}});
    if (response.status !== 401 || attempt > 0) return response;
    sessionStorage.removeItem(KEY_STORAGE);
    if (!(await askKey())) return response;
  }
}
async function errorText(response) {
  try {
    const body = await response.json();
    return body.error?.message ?? JSON.stringify(body);
  } catch {
    return `HTTP ${response.status}`;
  }
}

// --- The model: its id, and whether it takes images (then the attach button shows). ---
function takesImages(card) {
  const modalities = card.input_modalities ?? card.modalities ?? card.architecture?.input_modalities;
  if (Array.isArray(modalities) && modalities.includes("image")) return true;
  return Array.isArray(card.capabilities) && card.capabilities.some((c) => c === "vision" || c === "image");
}
async function loadModel() {
  const response = await api("/v1/models");
  if (!response.ok) {
    $("model-name").textContent = await errorText(response);
    return;
  }
  const card = (await response.json()).data?.[0];
  state.model = card?.id ?? null;
  $("model-name").textContent = card ? `${card.id} · ${card.context_length ?? "?"} tokens` : "no model";
  $("attach").hidden = !(card && takesImages(card));
}

// --- Chat ---
function markdown(text) {
  return DOMPurify.sanitize(marked.parse(text, {async: false}));
}
function addMessage(role, text = "") {
  const element = document.createElement("div");
  element.className = `message ${role}`;
  if (role === "user") element.textContent = text;
  $("messages").append(element);
  return element;
}
// An assistant turn's element: a folded reasoning block (shown once reasoning arrives) and the
// answer, re-rendered as Markdown as it streams.
function assistantView() {
  const element = addMessage("assistant");
  const reasoning = document.createElement("details");
  reasoning.className = "reasoning";
  reasoning.hidden = true;
  reasoning.innerHTML = "<summary>Reasoning</summary><div class=\"reasoning-text\"></div>";
  const answer = document.createElement("div");
  answer.className = "answer";
  element.append(reasoning, answer);
  return {
    element,
    setReasoning(text) {
      reasoning.hidden = text.length === 0;
      reasoning.querySelector(".reasoning-text").textContent = text;
    },
    setAnswer(text) { answer.innerHTML = markdown(text); },
  };
}
function samplingOptions() {
  const options = {};
  const number = (id) => ($(id).value === "" ? undefined : Number($(id).value));
  options.temperature = number("temperature");
  options.top_p = number("top_p");
  options.max_tokens = number("max_tokens");
  options.seed = number("seed");
  if ($("reasoning_effort").value) options.reasoning_effort = $("reasoning_effort").value;
  for (const key of Object.keys(options)) if (options[key] === undefined) delete options[key];
  return options;
}
function userContent(text, images) {
  if (images.length === 0) return text;
  return [{type: "text", text}, ...images.map((url) => ({type: "image_url", image_url: {url}}))];
}
async function send(text) {
  const user = addMessage("user", text);
  for (const url of state.images) {
    const image = document.createElement("img");
    image.src = url;
    image.alt = "attached image";
    user.append(image);
  }
  state.history.push({role: "user", content: userContent(text, state.images)});
  state.images = [];
  $("attachments").replaceChildren();
  const view = assistantView();
  const messages = [...state.history];
  const system = $("system").value.trim();
  if (system) messages.unshift({role: "system", content: system});
  state.controller = new AbortController();
  $("stop").disabled = false;
  $("send").disabled = true;
  let reasoning = "";
  let answer = "";
  try {
    const response = await api("/v1/chat/completions", {
      method: "POST",
      headers: {"Content-Type": "application/json"},
      body: JSON.stringify({model: state.model, messages, stream: true, ...samplingOptions()}),
      signal: state.controller.signal,
    });
    if (!response.ok) throw new Error(await errorText(response));
    for await (const event of readSse(response)) {
      if (event.error) throw new Error(event.error.message ?? "the server failed");
      const delta = event.choices?.[0]?.delta ?? {};
      if (delta.reasoning) view.setReasoning(reasoning += delta.reasoning);
      if (delta.reasoning_content) view.setReasoning(reasoning += delta.reasoning_content);
      if (delta.content) view.setAnswer(answer += delta.content);
      $("messages").lastElementChild?.scrollIntoView({block: "end"});
    }
    view.element.dataset.done = "true";
  } catch (error) {
    if (error.name !== "AbortError") {
      view.element.classList.add("error");
      view.setAnswer(`${answer}\n\n**Error:** ${error.message}`);
    }
    view.element.dataset.done = "error";
  } finally {
    state.history.push({role: "assistant", content: answer});
    state.controller = null;
    $("stop").disabled = true;
    $("send").disabled = false;
  }
}

function setUpChat() {
  $("composer").addEventListener("submit", (event) => {
    event.preventDefault();
    const text = $("prompt").value.trim();
    if (!text || state.controller) return;
    $("prompt").value = "";
    send(text);
  });
  $("prompt").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey) {
      event.preventDefault();
      $("composer").requestSubmit();
    }
  });
  $("stop").addEventListener("click", () => state.controller?.abort());
  $("new-chat").addEventListener("click", () => {
    state.controller?.abort();
    state.history = [];
    $("messages").replaceChildren();
  });
  $("attach").addEventListener("click", () => $("image-input").click());
  $("image-input").addEventListener("change", () => {
    for (const file of $("image-input").files) {
      const reader = new FileReader();
      reader.onload = () => {
        state.images.push(reader.result);
        const preview = document.createElement("img");
        preview.src = reader.result;
        preview.alt = file.name;
        $("attachments").append(preview);
      };
      reader.readAsDataURL(file);
    }
    $("image-input").value = "";
  });
}

// --- Status: /metrics every 2 s, charted. ---
const charts = {};
let previous = null;
async function pollMetrics() {
  let values;
  try {
    const response = await api("/metrics");
    if (!response.ok) return;
    values = parsePrometheus(await response.text());
  } catch {
    return;
  }
  const get = (name, labels) => values.get(name, labels) ?? 0;
  const now = Date.now();
  const ttftSum = get("snug_time_to_first_token_seconds_sum");
  const ttftCount = get("snug_time_to_first_token_seconds_count");
  let ttft = null;
  if (previous && ttftCount > previous.ttftCount) {
    ttft = (ttftSum - previous.ttftSum) / (ttftCount - previous.ttftCount);
  } else if (!previous && ttftCount > 0) {
    ttft = ttftSum / ttftCount;  // the first sample: the mean since start
  }
  previous = {ttftSum, ttftCount};
  const gib = 1024 ** 3;
  charts.memory.push(now, {resident: get("snug_resident_bytes") / gib,
                           plan: get("snug_plan_total_bytes") / gib,
                           budget: get("snug_plan_budget_bytes") / gib});
  charts.speed.push(now, {decode: get("snug_decode_tokens_per_second"),
                          prefill: get("snug_prefill_tokens_per_second")});
  charts.load.push(now, {queue: get("snug_queue_depth"), running: get("snug_running_sequences"),
                         slots: get("snug_slots")});
  if (ttft !== null) charts.ttft.push(now, {ttft});
  else charts.ttft.draw();
  $("status-summary").textContent =
      `resident ${(get("snug_resident_bytes") / gib).toFixed(2)} GiB of a plan of ` +
      `${(get("snug_plan_total_bytes") / gib).toFixed(2)} GiB (budget ` +
      `${(get("snug_plan_budget_bytes") / gib).toFixed(2)} GiB); ${get("snug_running_sequences")} ` +
      `running, ${get("snug_queue_depth")} queued; ${get("snug_generated_tokens_total")} tokens generated`;
  document.body.dataset.metricsPolls = String(Number(document.body.dataset.metricsPolls ?? 0) + 1);
}
function setUpStatus() {
  charts.memory = new LineChart($("chart-memory"), {resident: "#3b6fd8", plan: "#e39b2d", budget: "#c33"}, "GiB");
  charts.speed = new LineChart($("chart-speed"), {decode: "#3b6fd8", prefill: "#2da35a"}, "tok/s");
  charts.load = new LineChart($("chart-load"), {running: "#3b6fd8", queue: "#c33", slots: "#888"}, "");
  charts.ttft = new LineChart($("chart-ttft"), {ttft: "#8a4fd8"}, "s");
  let timer = null;
  const show = (status) => {
    $("chat-view").hidden = status;
    $("status-view").hidden = !status;
    $("tab-chat").classList.toggle("active", !status);
    $("tab-status").classList.toggle("active", status);
    clearInterval(timer);
    if (status) {
      pollMetrics();
      timer = setInterval(pollMetrics, 2000);
    }
  };
  $("tab-chat").addEventListener("click", () => show(false));
  $("tab-status").addEventListener("click", () => show(true));
}

setUpChat();
setUpStatus();
loadModel();
