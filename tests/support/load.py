#!/usr/bin/env python3
"""Load: several authorizer processes at once, each behind its own minimal Lambda Runtime API
on 127.0.0.1, all reading one local DynamoDB. Every sample event of events/ is sent over and
over (valid, invalid, revoked, expired keys; REST, HTTP and WebSocket), every answer is checked
against events/expected.json, and the figures are printed. Bounded in count and in time."""

import argparse
import http.server
import itertools
import json
import os
import pathlib
import statistics
import subprocess
import sys
import threading
import time

sys.path.insert(0, str(pathlib.Path(__file__).parent))
from invoke_events import classify  # noqa: E402

PREFIX = "/2018-06-01/runtime/invocation/"


class Feed(http.server.ThreadingHTTPServer):
    """Hands one process its events one by one and keeps each answer."""

    daemon_threads = True

    def __init__(self, cases):
        super().__init__(("127.0.0.1", 0), FeedHandler)
        self.cases = cases
        self.next_index = 0
        self.sent_at = {}
        self.answers = {}
        self.lock = threading.Lock()
        self.done = threading.Event()


class FeedHandler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        feed = self.server
        with feed.lock:
            index = feed.next_index
            feed.next_index += 1
        if index >= len(feed.cases):
            feed.done.wait(120)
            return
        body = feed.cases[index][1]
        feed.sent_at[index] = time.perf_counter()
        self.send_response(200)
        self.send_header("Lambda-Runtime-Aws-Request-Id", str(index))
        self.send_header("Lambda-Runtime-Deadline-Ms", str(int(time.time() * 1000) + 30_000))
        self.send_header("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:123456789012:function:load")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(202)
        self.send_header("Content-Length", "0")
        self.end_headers()
        parts = self.path[len(PREFIX):].split("/")
        if len(parts) == 2 and parts[0].isdigit():
            feed = self.server
            index = int(parts[0])
            feed.answers[index] = (time.perf_counter() - feed.sent_at[index], json.loads(body or b"null"))
            if len(feed.answers) == len(feed.cases):
                feed.done.set()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--binary", required=True)
    parser.add_argument("--processes", type=int, default=4)
    parser.add_argument("--requests", type=int, default=20_000, help="in all, across the processes")
    parser.add_argument("--time-limit", type=float, default=300)
    args = parser.parse_args()

    events = pathlib.Path("events")
    expected = json.loads((events / "expected.json").read_text())
    samples = [(case, (events / case["event"]).read_bytes()) for case in expected]
    per_process = args.requests // args.processes

    feeds, processes = [], []
    for n in range(args.processes):
        cycle = itertools.islice(itertools.cycle(samples), n, n + per_process)
        feed = Feed(list(cycle))
        threading.Thread(target=feed.serve_forever, daemon=True).start()
        env = dict(os.environ)
        env.update({
            "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{feed.server_address[1]}",
            "AWS_LAMBDA_FUNCTION_NAME": "load",
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
            # Half the processes without a key cache, so every request of theirs reads the table.
            "KEYFENCE_CACHE_TTL_SECONDS": "0" if n % 2 else "60",
        })
        feeds.append(feed)
        processes.append(subprocess.Popen([args.binary], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))

    started = time.perf_counter()
    deadline = started + args.time_limit
    for feed in feeds:
        feed.done.wait(max(0, deadline - time.perf_counter()))
    elapsed = time.perf_counter() - started
    for process in processes:
        process.kill()
        process.wait()
    for feed in feeds:
        feed.shutdown()

    latencies, wrong, missing, errors = [], 0, 0, 0
    for feed in feeds:
        for index, (case, _) in enumerate(feed.cases):
            if index not in feed.answers:
                missing += 1
                continue
            latency, payload = feed.answers[index]
            latencies.append(latency * 1000)
            outcome, _ = classify(payload)
            errors += outcome == "error"
            if outcome != case["expect"]:
                wrong += 1
                if wrong <= 5:
                    print(f"WRONG {case['event']}: expected {case['expect']}, got {outcome}: {payload}")
    answered = len(latencies)
    print(f"load: {args.processes} processes, {answered} of {per_process * args.processes} requests answered "
          f"in {elapsed:.1f} s ({answered / elapsed:.0f}/s); {wrong} wrong, {errors} errors, {missing} unanswered")
    if latencies:
        ordered = sorted(latencies)
        p99 = ordered[int(0.99 * (len(ordered) - 1))]
        print(f"load: per request, runtime API hand-over included: median {statistics.median(ordered):.2f} ms, "
              f"p99 {p99:.2f} ms, max {ordered[-1]:.2f} ms")
    ok = wrong == 0 and missing == 0 and errors == 0
    print(f"load: {1 if ok else 0} passed, {0 if ok else 1} failed")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
