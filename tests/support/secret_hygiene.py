#!/usr/bin/env python3
"""Secret hygiene: every sample event went through the function at the most verbose log level
(its log is --log); here every CLI command runs at that level too. Fails if any key, key hash,
usage-plan key or AWS secret appears in any log or output, except the new key that
`keys create` and `keys rotate` print once."""

import argparse
import hashlib
import json
import os
import pathlib
import subprocess
import sys

KEYFENCE = "target/debug/keyfence"


def keys_in_events(events: pathlib.Path) -> set[str]:
    """Every key value that any sample event carries, well-formed or not."""
    found = set()
    for path in events.glob("*.json"):
        data = json.loads(path.read_text())
        if not isinstance(data, dict):
            continue
        for name, value in (data.get("headers") or {}).items():
            if name.lower() == "x-api-key" and value:
                found.add(value)
    return found


def run(args: list[str], stdin: str = "") -> str:
    env = dict(os.environ, RUST_LOG="trace", AWS_LAMBDA_LOG_LEVEL="TRACE")
    done = subprocess.run([KEYFENCE, *args], input=stdin, capture_output=True, text=True, env=env, timeout=60)
    return done.stdout + done.stderr


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--log", required=True, help="the function's log from the sample events")
    args = parser.parse_args()

    demo = json.loads(pathlib.Path("events/demo-keys.json").read_text())
    keys = {entry["key"] for entry in demo} | keys_in_events(pathlib.Path("events"))
    usage_keys = {entry["usage_key"] for entry in demo if "usage_key" in entry}
    aws_secret = os.environ["AWS_SECRET_ACCESS_KEY"]

    outputs: dict[str, str] = {"the function's log": pathlib.Path(args.log).read_text()}
    allowed_once: dict[str, str] = {}

    created = run(["--json", "keys", "create", "--principal", "Hygiene", "--cidr", "192.0.2.0/24",
                   "--usage-key", "hygiene-usage-key-000000001"])
    new = json.loads(created)
    allowed_once["keys create"] = new["key"]
    keys.add(new["key"])
    usage_keys.add("hygiene-usage-key-000000001")
    outputs["keys create"] = created.replace(new["key"], "")
    key_id = new["key_id"]

    commands = {
        "keys list": (["keys", "list"], ""),
        "keys list --json": (["--json", "keys", "list"], ""),
        "keys show": (["keys", "show", key_id], ""),
        "keys show --json": (["--json", "keys", "show", key_id], ""),
        "keys update": (["keys", "update", key_id, "--add-route", "GET /pets"], ""),
        "check (stdin)": (["check", "--key", "-", "--ip", "192.0.2.1"], new["key"]),
        "check --json": (["--json", "check", "--key", "-", "--ip", "198.51.100.1", "--route", "GET /x"], new["key"]),
        "check (unknown key)": (["check", "--key", "-", "--ip", "192.0.2.1"], "unknown-partner-key-00000001"),
        "keys import": (["keys", "import", "--principal", "Hygiene", "--cidr", "192.0.2.0/24"], "imported-partner-key-0000001"),
        "keys import (duplicate)": (["keys", "import", "--principal", "Hygiene", "--cidr", "192.0.2.0/24"], "imported-partner-key-0000001"),
        "keys create (bad input)": (["keys", "create", "--principal", "H", "--cidr", "192.0.2.1/24"], ""),
        "table create (exists)": (["table", "create"], ""),
    }
    keys |= {"unknown-partner-key-00000001", "imported-partner-key-0000001"}
    for name, (argv, stdin) in commands.items():
        outputs[name] = run(argv, stdin)

    rotated = run(["--json", "keys", "rotate", key_id, "--overlap", "1m"])
    rotated_key = json.loads(rotated)["key"]
    outputs["keys rotate"] = rotated.replace(rotated_key, "")
    keys.add(rotated_key)
    outputs["keys revoke"] = run(["keys", "revoke", key_id])

    secrets = {f"key {k[:6]}...": k for k in keys}
    secrets |= {f"hash of key {k[:6]}...": hashlib.sha256(k.encode()).hexdigest() for k in keys}
    secrets |= {f"usage key {u[:6]}...": u for u in usage_keys}
    secrets["AWS secret access key"] = aws_secret

    failed = 0
    for where, text in outputs.items():
        leaks = [what for what, secret in secrets.items() if secret and secret in text]
        if leaks:
            failed += 1
            print(f"LEAK in {where}: {', '.join(sorted(leaks))}")
    print(f"secret hygiene: {len(outputs) - failed} passed, {failed} failed "
          f"({len(secrets)} secrets checked against {len(outputs)} outputs at log level trace)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
