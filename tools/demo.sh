#!/usr/bin/env bash
# make demo: starts the server on a data file, runs the client against it (pipeline 1
# and 16), prints the reports, and stops the server. Usage: tools/demo.sh FILE PORT
set -euo pipefail
file="$1"
port="$2"
root="$(cd "$(dirname "$0")/.." && pwd)"
log="$(mktemp)"
"$root/bin/server" "$file" --port "$port" --quiet >"$log" 2>&1 &
server=$!
trap 'kill -TERM $server 2>/dev/null; wait $server 2>/dev/null; rm -f "$log"' EXIT
for _ in $(seq 1 100); do
  grep -q 'listening' "$log" && break
  if ! kill -0 $server 2>/dev/null; then
    cat "$log" >&2
    grep -q 'address in use' "$log" && echo "make demo: port $port is taken; run make demo PORT=<another port>" >&2
    exit 1
  fi
  sleep 0.1
done
cat "$log"
echo
"$root/bin/client" "$file" --port "$port" --clients 10 --requests 1000000 --pipeline 1
echo
"$root/bin/client" "$file" --port "$port" --clients 10 --requests 1000000 --pipeline 16 --report report.html
echo
echo "latency charts: report.html"
