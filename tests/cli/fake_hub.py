#!/usr/bin/env python3
"""A fake Hugging Face Hub for tests/cli/pull_test.sh: the API route and the file routes of
the real hub over plain HTTP, serving ROOT/ORG/NAME/** as repositories (one commit each).

  GET /api/models/ORG/NAME/revision/REV?blobs=true  the file list (sizes, blob ids, LFS sha256)
  GET /ORG/NAME/resolve/REV/PATH                     small files directly; *.safetensors and
                                                     *.gguf (LFS) redirect to the "CDN" below,
                                                     on another origin (localhost, not 127.0.0.1)
  GET /cdn/SHA256                                    the LFS file, with Range support; refuses
                                                     requests that carry an Authorization header
Repositories under ROOT/gated/ answer 401 unless "Authorization: Bearer secret".
Faults come from STATE (a JSON file re-read on every request, so the test changes them while
the server runs): {"drop_after": N, "drop_times": K} sends only N bytes of the next K LFS bodies
then closes the connection; {"corrupt_times": K} flips the last byte of the next K whole LFS bodies; a new
"epoch" value starts the counts again.
Every request line and its Range header are appended to LOG.
  fake_hub.py ROOT PORT_FILE STATE LOG [CERT KEY]    (with CERT and KEY: HTTPS)
"""
import hashlib, http.server, json, os, ssl, sys, threading

root, port_file, state_file, log_file = sys.argv[1:5]
tls = sys.argv[5:7]
scheme = "https" if tls else "http"
lock = threading.Lock()
counters = {"drop": 0, "corrupt": 0, "epoch": None}


def state():
    try:
        with open(state_file) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}


def git_blob_id(data):
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def is_lfs(path):
    return path.endswith(".safetensors") or path.endswith(".gguf")


def repo_files(repo_dir):
    files = []
    for dirpath, _, names in os.walk(repo_dir):
        for name in sorted(names):
            full = os.path.join(dirpath, name)
            files.append(os.path.relpath(full, repo_dir))
    return sorted(files)


def commit_of(repo_dir):
    h = hashlib.sha1()
    for path in repo_files(repo_dir):
        h.update(path.encode())
        with open(os.path.join(repo_dir, path), "rb") as f:
            h.update(hashlib.sha256(f.read()).digest())
    return h.hexdigest()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def send(self, status, body=b"", headers=()):
        self.send_response(status)
        for key, value in headers:
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def error(self, status, message):
        self.send(status, json.dumps({"error": message}).encode(),
                  [("Content-Type", "application/json")])

    def repo(self, org, name):
        repo_dir = os.path.join(root, org, name)
        if not os.path.isdir(repo_dir):
            self.error(404, "Repository not found")
            return None
        if org == "gated" and self.headers.get("Authorization") != "Bearer secret":
            self.error(401, "Access to model %s/%s is restricted." % (org, name))
            return None
        return repo_dir

    def do_GET(self):
        with lock:
            with open(log_file, "a") as log:
                log.write("%s %s range=%s auth=%s\n" % (
                    self.command, self.path, self.headers.get("Range"),
                    "yes" if self.headers.get("Authorization") else "no"))
        path, _, query = self.path.partition("?")
        parts = path.split("/")
        if path.startswith("/api/models/") and len(parts) >= 7 and parts[5] == "revision":
            return self.api(parts[3], parts[4], "/".join(parts[6:]), query)
        if len(parts) >= 6 and parts[3] == "resolve":
            return self.resolve(parts[1], parts[2], parts[4], "/".join(parts[5:]))
        if len(parts) == 3 and parts[1] == "cdn":
            return self.cdn(parts[2])
        self.error(404, "no route")

    def api(self, org, name, revision, query):
        repo_dir = self.repo(org, name)
        if repo_dir is None:
            return
        commit = commit_of(repo_dir)
        if revision not in ("main", commit):
            return self.error(404, "Revision not found")
        if "blobs=true" not in query:
            return self.error(400, "the client must ask for blobs=true")
        siblings = []
        for rel in repo_files(repo_dir):
            with open(os.path.join(repo_dir, rel), "rb") as f:
                data = f.read()
            entry = {"rfilename": rel, "blobId": git_blob_id(data), "size": len(data)}
            if is_lfs(rel):
                entry["lfs"] = {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data),
                                "pointerSize": 134}
            siblings.append(entry)
        body = {"id": org + "/" + name, "sha": commit, "siblings": siblings}
        self.send(200, json.dumps(body).encode(), [("Content-Type", "application/json")])

    def resolve(self, org, name, revision, rel):
        repo_dir = self.repo(org, name)
        if repo_dir is None:
            return
        if revision not in ("main", commit_of(repo_dir)):
            return self.error(404, "Revision not found")
        full = os.path.join(repo_dir, rel)
        if ".." in rel.split("/") or not os.path.isfile(full):
            return self.error(404, "Entry not found")
        with open(full, "rb") as f:
            data = f.read()
        if not is_lfs(rel):
            return self.send(200, data, [("ETag", '"%s"' % git_blob_id(data))])
        # LFS files live on the CDN: another origin, so the client must drop its token.
        port = self.server.server_address[1]
        location = "%s://localhost:%d/cdn/%s" % (scheme, port, hashlib.sha256(data).hexdigest())
        self.send(302, b"", [("Location", location)])

    def cdn(self, sha):
        if self.headers.get("Authorization"):
            return self.error(400, "a CDN URL is signed: no Authorization header allowed")
        data = None
        for dirpath, _, names in os.walk(root):
            for n in names:
                with open(os.path.join(dirpath, n), "rb") as f:
                    candidate = f.read()
                if hashlib.sha256(candidate).hexdigest() == sha:
                    data = candidate
        if data is None:
            return self.error(404, "no such blob")
        first = 0
        status = 200
        headers = [("ETag", '"%s"' % sha), ("Accept-Ranges", "bytes")]
        ranged = self.headers.get("Range")
        if ranged:
            spec = ranged.removeprefix("bytes=")
            start_text, _, end_text = spec.partition("-")
            first = int(start_text)
            last = int(end_text) if end_text else len(data) - 1
            if first >= len(data):
                return self.send(416, b"", [("Content-Range", "bytes */%d" % len(data))])
            last = min(last, len(data) - 1)
            headers.append(("Content-Range", "bytes %d-%d/%d" % (first, last, len(data))))
            data = data[first:last + 1]
            status = 206
        faults = state()
        with lock:
            if counters["epoch"] != faults.get("epoch"):  # a new fault: count from zero
                counters.update(drop=0, corrupt=0, epoch=faults.get("epoch"))
            corrupt = counters["corrupt"] < faults.get("corrupt_times", 0) and status == 200
            if corrupt:
                counters["corrupt"] += 1
            drop = counters["drop"] < faults.get("drop_times", 0) and \
                len(data) > faults.get("drop_after", 0)
            if drop:
                counters["drop"] += 1
        if corrupt:
            data = data[:-1] + bytes([data[-1] ^ 0xFF])
        self.send_response(status)
        for key, value in headers:
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if drop:
            self.wfile.write(data[:faults["drop_after"]])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(data)


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
if tls:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tls[0], tls[1])
    server.socket = context.wrap_socket(server.socket, server_side=True)
with open(port_file + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
os.rename(port_file + ".tmp", port_file)
server.serve_forever()
