#!/usr/bin/env bash
# The demo behind `make run`: a receiver that prints what it gets, the sample
# events published, and `omniout run` in the foreground. Ctrl-C stops it all.
# Expects the local stack to be up (make run starts it).
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=.venv/bin
config=deploy/demo/config.yaml

"$bin/python" -m omniout.demo.receiver --port "${DEMO_RECEIVER_PORT:-9000}" \
  > >(sed -u 's/^/receiver | /') 2>&1 &
receiver=$!
trap 'kill $receiver 2>/dev/null || true' EXIT

"$bin/omniout" publish -c "$config" --topic event.Order_Completed__e \
  --file deploy/demo/orders.jsonl --key-field Order_Id__c

echo "omniout is running; each delivery shows below. Ctrl-C stops everything."
"$bin/omniout" run -c "$config" || true
