#!/usr/bin/env python3
"""`make bench-cold`: time from process start to first response, for keyfence's release
bootstrap and for a hello-world lambda_runtime binary built the same way, side by side.

A minimal Lambda Runtime API on 127.0.0.1 hands each new process one event and times the
answer. keyfence gets a REST event whose key it has never seen, so the first request reads the
local DynamoDB table. Runs alternate between the two binaries so machine noise hits both."""

import argparse
import http.server
import json
import os
import pathlib
import statistics
import subprocess
import threading
import time
import zipfile

NEXT = "/2018-06-01/runtime/invocation/next"


class RuntimeApi(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), Handler)
        self.event = b"{}"
        self.answered = threading.Event()
        self.answer = None
        self.served = 0
        self.first_get_at = None

    def arm(self, event: bytes):
        self.event = event
        self.answered.clear()
        self.answer = None
        self.served = 0


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def handle(self):
        # The process is killed while its next request is held: a broken pipe is expected.
        try:
            super().handle()
        except (BrokenPipeError, ConnectionResetError):
            pass

    def do_GET(self):
        server = self.server
        if self.path != NEXT:
            self.send_error(404)
            return
        if server.served:
            # The process asks for its next event; hold it until it is stopped.
            server.answered.wait(30)
            time.sleep(5)
            return
        server.served += 1
        server.first_get_at = time.perf_counter()
        self.send_response(200)
        self.send_header("Lambda-Runtime-Aws-Request-Id", f"req-{time.monotonic_ns()}")
        self.send_header("Lambda-Runtime-Deadline-Ms", str(int(time.time() * 1000) + 30_000))
        self.send_header("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:123456789012:function:bench")
        self.send_header("Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000000")
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(server.event)))
        self.end_headers()
        self.wfile.write(server.event)

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(202)
        self.send_header("Content-Length", "0")
        self.end_headers()
        self.server.answer = (self.path.rsplit("/", 1)[-1], body)
        self.server.answered.set()


def peak_rss_mb(pid: int) -> float:
    for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def one_run(binary: str, event: bytes, env: dict) -> tuple[float, float, float, str]:
    # A Runtime API of its own per run, so a killed process's last request cannot reach the next.
    api = RuntimeApi()
    api.arm(event)
    threading.Thread(target=api.serve_forever, daemon=True).start()
    env = dict(env, AWS_LAMBDA_RUNTIME_API=f"127.0.0.1:{api.server_address[1]}")
    started = time.perf_counter()
    process = subprocess.Popen([binary], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        if not api.answered.wait(20):
            raise RuntimeError(f"{binary} did not answer within 20 s")
        elapsed_ms = (time.perf_counter() - started) * 1000
        init_ms = (api.first_get_at - started) * 1000
        rss = peak_rss_mb(process.pid)
    finally:
        process.kill()
        process.wait()
        api.shutdown()
        api.server_close()
    kind, body = api.answer
    return elapsed_ms, init_ms, rss, f"{kind}: {body.decode(errors='replace')}"


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--keyfence", required=True)
    parser.add_argument("--floor", required=True)
    parser.add_argument("--event", required=True)
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--zip", help="the arm64 bootstrap.zip, if built")
    args = parser.parse_args()

    env = dict(os.environ)
    env.update({
        "AWS_LAMBDA_FUNCTION_NAME": "bench",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
        "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/bench",
        "AWS_LAMBDA_LOG_STREAM_NAME": "bench",
    })
    event = pathlib.Path(args.event).read_bytes()
    results = {"keyfence": [], "floor": []}
    answers = {}
    for _ in range(args.runs):
        for name, binary, payload in (("keyfence", args.keyfence, event), ("floor", args.floor, b"{}")):
            elapsed, init, rss, answer = one_run(binary, payload, env)
            results[name].append((elapsed, init, rss))
            answers[name] = answer

    if '"Allow"' not in answers["keyfence"]:
        print(f"keyfence did not allow the benchmark event: {answers['keyfence']}")
        return 1
    print(f"cold start to first response, {args.runs} runs each, alternating (x86_64, this machine):")
    print(f"{'binary':<10} {'median ms':>10} {'p95 ms':>8} {'init median ms':>15} {'peak RSS MB':>12}")
    summary = {}
    for name, rows in results.items():
        times = [t for t, _, _ in rows]
        inits = [i for _, i, _ in rows]
        rss = max(r for _, _, r in rows)
        summary[name] = (statistics.median(times), percentile(times, 95), statistics.median(inits), rss)
        print(f"{name:<10} {summary[name][0]:>10.2f} {summary[name][1]:>8.2f} {summary[name][2]:>15.2f} {rss:>12.1f}")
    print("(init: process start to the runtime's first request for an event)")
    ratio = summary["keyfence"][0] / summary["floor"][0]
    print(f"keyfence / floor (median): {ratio:.2f}x   (keyfence includes its DynamoDB read at init and for the key)")
    for name, path in (("keyfence release binary", args.keyfence), ("floor release binary", args.floor)):
        print(f"{name}: {os.path.getsize(path) / 1048576:.2f} MB")
    if args.zip and os.path.exists(args.zip):
        with zipfile.ZipFile(args.zip) as z:
            unzipped = sum(i.file_size for i in z.infolist())
        print(f"arm64 bootstrap.zip: {os.path.getsize(args.zip) / 1048576:.2f} MB ({unzipped / 1048576:.2f} MB unzipped)")
    else:
        print("arm64 bootstrap.zip: not built (run `make build`)")
    print(json.dumps({"summary": summary, "ratio": ratio}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
