// What the page reads from snug: server-sent events and Prometheus text.

// The parsed `data:` events of a text/event-stream response, as they arrive; ends at [DONE].
export async function* readSse(response) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const {value, done} = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, {stream: true});
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const data = block.split("\n").filter((line) => line.startsWith("data:"))
                        .map((line) => line.slice(5).trimStart()).join("\n");
      if (!data) continue;  // a comment (keep-alive)
      if (data === "[DONE]") return;
      yield JSON.parse(data);
    }
  }
  throw new Error("the stream ended before [DONE]");
}

// Prometheus text exposition: get(name, labels) -> number (labels: an object to match exactly).
export function parsePrometheus(text) {
  const samples = [];
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!match) continue;
    const labels = {};
    for (const pair of (match[2] ?? "").matchAll(/([a-zA-Z_]\w*)="((?:[^"\\]|\\.)*)"/g)) {
      labels[pair[1]] = pair[2];
    }
    samples.push({name: match[1], labels, value: Number(match[3])});
  }
  return {
    get(name, labels = {}) {
      const wanted = Object.entries(labels);
      const sample = samples.find((s) => s.name === name &&
          wanted.every(([key, value]) => s.labels[key] === value) &&
          Object.keys(s.labels).length === wanted.length);
      return sample?.value;
    },
  };
}
