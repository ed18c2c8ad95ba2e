#!/usr/bin/env bash
# The demo behind `make run`: a receiver that prints what it gets, the sample
# events published, and `omniout run` in the foreground. Ctrl-C stops it all.
# Expects the local stack to be up (make run starts it).
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=.venv/bin
config=deploy/demo/config.yaml

port=${DEMO_RECEIVER_PORT:-9000}
export DEMO_RECEIVER_URL=${DEMO_RECEIVER_URL:-http://127.0.0.1:$port}
listening() { (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; }

if listening; then
  echo "demo: port $port is taken; set DEMO_RECEIVER_PORT to a free one" >&2
  exit 1
fi
# The receiver runs in a session of its own, so that Ctrl-C reaches omniout
# alone: omniout finishes the deliveries in flight while the receiver still
# answers, and the receiver is stopped when this script exits.
setsid bash -c 'exec "$0" -m omniout.demo.receiver --port "$1" 2>&1 |
  sed -u "s/^/receiver | /"' "$bin/python" "$port" &
receiver=$!
trap 'kill -- -$receiver 2>/dev/null || true' EXIT

# Publish only once the receiver listens, or the deliveries would fail.
until listening; do
  kill -0 $receiver 2>/dev/null || { echo "demo: the receiver failed" >&2; exit 1; }
  sleep 0.1
done

"$bin/omniout" publish -c "$config" --topic event.Order_Completed__e \
  --file deploy/demo/orders.jsonl --key-field Order_Id__c

echo "omniout is running; each delivery shows below. Ctrl-C stops everything."
"$bin/omniout" run -c "$config" || true
