#!/usr/bin/env bash
# The local stack behind `make run` and `make test`: a DynamoDB-compatible server (dynalite)
# and the Lambda Runtime API emulator (cargo lambda watch), both on 127.0.0.1 at free ports,
# stopped on exit however the script ends.
#
#   local.sh run    create and seed the table, invoke every event in events/, print the table
#   local.sh test   the same check, after cargo's unit and integration tests against the table
#   local.sh bench  the criterion benchmarks, whose request path reads its keys from the table
#   local.sh bench-cold  cold starts of the release bootstrap against a hello-world floor
#   local.sh load   several authorizer processes at once, tens of thousands of checked requests
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
SUPPORT="tests/support"
STATE="target/local-stack"
DYNALITE="$SUPPORT/node_modules/.bin/dynalite"
CARGO_LAMBDA_BIN="$ROOT/.tools/venv/bin"
FUNCTION="keyfence-authorizer"

mkdir -p "$STATE"
PIDS=()

stop_all() {
    local pid
    for pid in "${PIDS[@]}"; do
        # Each service runs in its own process group so its children stop with it.
        kill -TERM -- "-$pid" 2>/dev/null || true
    done
    for pid in "${PIDS[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
}
trap stop_all EXIT INT TERM

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wait_for_port() {
    local port=$1 what=$2 pid=$3 log=$4
    for _ in $(seq 1 600); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            return 0
        fi
        if ! kill -0 "$pid" 2>/dev/null; then
            echo "$what exited before listening; its log:" >&2
            cat "$log" >&2
            return 1
        fi
        sleep 0.1
    done
    echo "$what did not listen on 127.0.0.1:$port within 60 s; its log:" >&2
    cat "$log" >&2
    return 1
}

start_dynamodb() {
    DYNAMODB_PORT=$(free_port)
    setsid "$DYNALITE" --host 127.0.0.1 --port "$DYNAMODB_PORT" --createTableMs 0 --deleteTableMs 0 \
        >"$STATE/dynalite.log" 2>&1 &
    PIDS+=($!)
    wait_for_port "$DYNAMODB_PORT" dynalite "$!" "$STATE/dynalite.log"
    # What the SDK needs to talk to it: dummy credentials, a region, the endpoint. The secret
    # is distinctive so the secret-hygiene check can look for it in every output.
    export AWS_ACCESS_KEY_ID=keyfence-local AWS_SECRET_ACCESS_KEY=keyfence-local-secret-never-logged
    export AWS_REGION=us-east-1
    export AWS_ENDPOINT_URL_DYNAMODB="http://127.0.0.1:$DYNAMODB_PORT"
    echo "dynalite listening on $AWS_ENDPOINT_URL_DYNAMODB"
}

seed_table() {
    export KEYFENCE_TABLE_NAME=keyfence-keys
    "${KEYFENCE:-target/debug/keyfence}" table create
    "${KEYFENCE:-target/debug/keyfence}" table seed events/demo-keys.json
}

# The emulator runs the function with this environment (the local table) plus $1 (a log level).
start_lambda() {
    LAMBDA_PORT=$(free_port)
    PATH="$CARGO_LAMBDA_BIN:$PATH" setsid cargo lambda watch --ignore-changes --quiet \
        --env-var "RUST_LOG=${1:-info}" -A 127.0.0.1 -P "$LAMBDA_PORT" >"$STATE/lambda.log" 2>&1 &
    PIDS+=($!)
    wait_for_port "$LAMBDA_PORT" "cargo lambda watch" "$!" "$STATE/lambda.log"
    echo "Lambda Runtime API emulator listening on 127.0.0.1:$LAMBDA_PORT"
}

# What an operator does: issue a key for a partner, check it from its range and from
# elsewhere, revoke it, check again. The key is passed on standard input, never as an argument.
operator_walkthrough() {
    local keyfence=target/debug/keyfence created key key_id
    echo "\$ keyfence keys create --principal 'Example Partner' --cidr 192.0.2.0/24 --route 'GET /pets/*'"
    created=$("$keyfence" --json keys create --principal "Example Partner" --cidr 192.0.2.0/24 --route "GET /pets/*")
    key=$(python3 -c 'import json, sys; print(json.load(sys.stdin)["key"])' <<<"$created")
    key_id=$(python3 -c 'import json, sys; print(json.load(sys.stdin)["key_id"])' <<<"$created")
    echo "created key $key_id for Example Partner (the key itself is printed once, by that command)"
    echo
    echo "\$ keyfence check --key - --ip 192.0.2.10 --route 'GET /pets/1'"
    "$keyfence" check --key - --ip 192.0.2.10 --route "GET /pets/1" <<<"$key" || true
    echo "\$ keyfence check --key - --ip 198.51.100.7 --route 'GET /pets/1'"
    "$keyfence" check --key - --ip 198.51.100.7 --route "GET /pets/1" <<<"$key" || true
    echo "\$ keyfence keys revoke $key_id"
    "$keyfence" keys revoke "$key_id" | head -3
    echo "\$ keyfence check --key - --ip 192.0.2.10 --route 'GET /pets/1'"
    "$keyfence" check --key - --ip 192.0.2.10 --route "GET /pets/1" <<<"$key" || true
    echo "\$ keyfence keys list"
    "$keyfence" keys list
}

invoke_events() {
    python3 "$SUPPORT/invoke_events.py" --port "$LAMBDA_PORT" --function "$FUNCTION" \
        --log "$STATE/lambda.log"
}

case "${1:-}" in
run)
    cargo build --quiet --bins
    start_dynamodb
    seed_table
    start_lambda
    echo
    invoke_events
    echo
    operator_walkthrough
    echo
    echo "The function's log (one JSON line per decision) is in $STATE/lambda.log"
    ;;
test)
    cargo build --quiet --bins
    start_dynamodb
    KEYFENCE_TEST_DYNAMODB="$AWS_ENDPOINT_URL_DYNAMODB" cargo test --all-targets
    seed_table
    # The most verbose level, so the secret-hygiene check sees everything the function can log.
    start_lambda trace
    invoke_events
    python3 "$SUPPORT/secret_hygiene.py" --log "$STATE/lambda.log"
    # A short load run: several processes at once, every answer checked.
    python3 "$SUPPORT/load.py" --binary target/debug/keyfence-authorizer --processes 4 --requests 4000 --time-limit 120
    ;;
bench)
    start_dynamodb
    KEYFENCE_BENCH_DYNAMODB="$AWS_ENDPOINT_URL_DYNAMODB" cargo bench --bench keyfence -- "${@:2}"
    ;;
load)
    cargo build --quiet --release --bin keyfence-authorizer --bin keyfence
    start_dynamodb
    KEYFENCE=target/release/keyfence seed_table
    python3 "$SUPPORT/load.py" --binary target/release/keyfence-authorizer "${@:2}"
    ;;
bench-cold)
    cargo build --quiet --release --bin keyfence-authorizer --example hello_lambda
    cargo build --quiet --bins
    start_dynamodb
    seed_table
    python3 benches/cold/cold_start.py --keyfence target/release/keyfence-authorizer \
        --floor target/release/examples/hello_lambda --event events/rest-allowed.json \
        --zip target/lambda/keyfence-authorizer/bootstrap.zip "${@:2}"
    ;;
*)
    echo "usage: $0 run|test|bench|bench-cold" >&2
    exit 2
    ;;
esac
