#!/usr/bin/env bash
# The demo behind `make run`: a receiver that prints what it gets (and issues
# the OAuth tokens), a reader that prints the reply records, the sample events
# published, and `omniout run` in the foreground. Ctrl-C stops it all.
# Expects the local stack to be up (make run starts it).
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=.venv/bin
config=deploy/demo/config.yaml

port=${DEMO_RECEIVER_PORT:-9000}
export DEMO_RECEIVER_URL=${DEMO_RECEIVER_URL:-http://127.0.0.1:$port}
export DEMO_TOPIC=${DEMO_TOPIC:-event.Order_Completed__e}
# A demo value, known to both sides; the config only names the variable.
export DEMO_CLIENT_SECRET=${DEMO_CLIENT_SECRET:-demo-client-secret}
listening() { (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; }

if listening; then
  echo "demo: port $port is taken; set DEMO_RECEIVER_PORT to a free one" >&2
  exit 1
fi
# Replies written from now on are this run's.
since=$(date +%s%3N)

# The receiver and the reply reader run in sessions of their own, so that
# Ctrl-C reaches omniout alone: omniout finishes the deliveries in flight
# while the receiver still answers, and both are stopped when this script
# exits.
started=()
stop_all() {
  for group in "${started[@]}"; do kill -- "-$group" 2>/dev/null || true; done
}
trap stop_all EXIT
setsid bash -c 'exec "$0" -m omniout.demo.receiver --port "$1" 2>&1 |
  sed -u "s/^/receiver | /"' "$bin/python" "$port" &
receiver=$!
started+=("$receiver")

# Publish only once the receiver listens, or the deliveries would fail.
until listening; do
  kill -0 "$receiver" 2>/dev/null || { echo "demo: the receiver failed" >&2; exit 1; }
  sleep 0.1
done

setsid bash -c 'exec "$0" -m omniout.demo.replies -c "$1" --since-ms "$2" \
  --follow 2>&1 | sed -u "s/^/reply    | /"' "$bin/python" "$config" "$since" &
started+=("$!")

"$bin/omniout" publish -c "$config" --topic "$DEMO_TOPIC" \
  --file deploy/demo/orders.jsonl --key-field Order_Id__c

echo "omniout is running; each delivery shows below. Ctrl-C stops everything."
"$bin/omniout" run -c "$config" || true
