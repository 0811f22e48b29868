#!/usr/bin/env python3
"""Invoke every sample event in events/ through a Lambda Invoke API (cargo lambda watch) and
compare each answer with events/expected.json. Prints a table; exits 1 on any mismatch."""

import argparse
import json
import pathlib
import sys
import urllib.error
import urllib.request


def invoke(url: str, body: bytes) -> tuple[int, dict]:
    request = urllib.request.Request(url, data=body, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def classify(payload) -> tuple[str, str]:
    """(outcome, reason) as API Gateway would act on the function's answer."""
    if not isinstance(payload, dict):
        return "error", "-"
    if "errorMessage" in payload:
        message = payload["errorMessage"]
        return ("unauthorized", "-") if message == "Unauthorized" else ("error", message)
    reason = str(payload.get("context", {}).get("reason", "-"))
    if "isAuthorized" in payload:
        return ("allow" if payload["isAuthorized"] is True else "deny"), reason
    statements = payload.get("policyDocument", {}).get("Statement", [])
    effects = {s.get("Effect") for s in statements}
    if "Deny" in effects or "Allow" not in effects:
        return "deny", reason
    return "allow", reason


def decision_lines(log: pathlib.Path, offset: int) -> tuple[list[dict], int]:
    """The function's decision log lines written since `offset`."""
    with log.open("rb") as f:
        f.seek(offset)
        data = f.read()
    lines = []
    for raw in data.splitlines():
        try:
            entry = json.loads(raw)
        except ValueError:
            continue
        if isinstance(entry, dict) and entry.get("message") == "decision":
            lines.append(entry)
    return lines, offset + len(data)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--function", default="keyfence-authorizer")
    parser.add_argument("--events", default="events")
    parser.add_argument("--log", required=True, help="the function's log, to read each decision line")
    args = parser.parse_args()

    url = f"http://127.0.0.1:{args.port}/2015-03-31/functions/{args.function}/invocations"
    events = pathlib.Path(args.events)
    cases = json.loads((events / "expected.json").read_text())
    log = pathlib.Path(args.log)
    _, offset = decision_lines(log, 0)
    rows, failed = [], 0
    for case in cases:
        _, payload = invoke(url, (events / case["event"]).read_bytes())
        outcome, answer_reason = classify(payload)
        logged, offset = decision_lines(log, offset)
        # Unauthorized answers carry no reason by design: the log line holds it.
        reason = logged[-1]["reason"] if len(logged) == 1 else f"{len(logged)} log lines"
        ok = (
            outcome == case["expect"]
            and reason == case["reason"]
            and answer_reason in (reason, "-")
            and (answer_reason == "-") == (outcome == "unauthorized")
        )
        failed += not ok
        rows.append((case["event"], f'{case["expect"]} ({case["reason"]})', f"{outcome} ({reason})", "ok" if ok else "MISMATCH"))

    headers = ("event", "expected", "actual", "")
    widths = [max(len(r[i]) for r in rows + [headers]) for i in range(4)]
    line = lambda r: "  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip()
    print(line(headers))
    print(line(tuple("-" * w for w in widths)))
    for row in rows:
        print(line(row))
    print(f"events: {len(rows) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
