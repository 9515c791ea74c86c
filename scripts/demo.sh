#!/usr/bin/env bash
# The demo (the README's first command): grpcscope between the project's echo
# gRPC server and a light load, so the admin endpoint fills with data at once,
# and beside it a tour of real problems made by real gRPC clients one after
# another (grpcscope-demo-tour, test/support/demo_tour.h), so that findings
# are raised on the page within seconds and resolve once each problem stops.
#
#   loadgen ──h2c──▶ grpcscope 127.0.0.1:8080 ──h2c──▶ echo server 127.0.0.1:50051
#   tour    ──h2c──▶     page: http://127.0.0.1:9901/
#
# The echo server is gRPC C++ with its default keepalive policy (no PINGs
# closer than 5 minutes while calls are open: the strict server of the
# keepalive step) and a limit of 100 concurrent streams per connection (the
# stream-limit step); neither touches the healthy load.
#
# Runs until Ctrl-C (or SIGTERM), then stops the tour, the load, grpcscope and
# the server in that order. Overridable with environment variables:
#   DEMO_HOST (127.0.0.1), DEMO_SERVER_PORT (50051), DEMO_PROXY_PORT (8080),
#   DEMO_ADMIN_PORT (9901), DEMO_RATE (unary calls per second, 20),
#   DEMO_STREAM_RATE (server-streaming calls per second, 2; 0 turns it off),
#   DEMO_TOUR (1; 0 turns the tour off), DEMO_TOUR_STEP (seconds per step, 15),
#   DEMO_TOUR_PAUSE (seconds between steps, 5),
#   DEMO_LOG_LEVEL (info), GRPCSCOPE_SKIP_BUILD=1 (use the existing build/).
set -euo pipefail
cd "$(dirname "$0")/.."

host="${DEMO_HOST:-127.0.0.1}"
server_port="${DEMO_SERVER_PORT:-50051}"
proxy_port="${DEMO_PROXY_PORT:-8080}"
admin_port="${DEMO_ADMIN_PORT:-9901}"
rate="${DEMO_RATE:-20}"
stream_rate="${DEMO_STREAM_RATE:-2}"
tour="${DEMO_TOUR:-1}"
tour_step="${DEMO_TOUR_STEP:-15}"
tour_pause="${DEMO_TOUR_PAUSE:-5}"
log_level="${DEMO_LOG_LEVEL:-info}"
# The echo server's SETTINGS_MAX_CONCURRENT_STREAMS, and the tour's to exceed.
stream_limit=100

# The page first: it is what to open (it fills once grpcscope runs).
echo "page  http://$host:$admin_port/"

if [[ "${GRPCSCOPE_SKIP_BUILD:-0}" != 1 ]]; then
  bash scripts/build.sh release
fi

bin=build
exes=(grpcscope grpcscope-echo-server grpcscope-loadgen)
[[ "$tour" != 0 ]] && exes+=(grpcscope-demo-tour)
for exe in "${exes[@]}"; do
  if [[ ! -x "$bin/$exe" ]]; then
    echo "demo: $bin/$exe is missing: did the build succeed?" >&2
    exit 1
  fi
done

# True when something accepts TCP connections on host:port.
listening() {
  (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null
}

for port in "$server_port" "$proxy_port" "$admin_port"; do
  if listening "$host" "$port"; then
    echo "demo: $host:$port is already in use; pick other ports with DEMO_SERVER_PORT," \
         "DEMO_PROXY_PORT and DEMO_ADMIN_PORT" >&2
    exit 1
  fi
done

logs=build/demo
mkdir -p "$logs"
server_pid=""
proxy_pid=""
load_pids=()
tour_pid=""

# Sends SIGTERM to one of our children and waits for it (SIGKILL after 20 s).
stop() {
  local pid="$1" name="$2"
  [[ -n "$pid" ]] || return 0
  kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 200); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    echo "demo: $name did not stop within 20 s; killing it" >&2
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
}

cleanup() {
  # A second Ctrl-C (or the terminal's SIGINT arriving twice) must not cut the
  # orderly stop short: each process gets at most 20 s anyway.
  trap 'echo "demo: still stopping..." >&2' INT TERM
  trap - EXIT
  echo
  echo "demo: stopping the tour, the load, grpcscope and the echo server"
  local pid
  stop "$tour_pid" "grpcscope-demo-tour"
  for pid in "${load_pids[@]}"; do stop "$pid" "grpcscope-loadgen"; done
  stop "$proxy_pid" "grpcscope"
  stop "$server_pid" "grpcscope-echo-server"
  for f in "$logs"/loadgen-*.log; do
    [[ -s "$f" ]] || continue
    echo "--- $(basename "$f" .log):"
    cat "$f"
  done
  echo "demo: logs are in $logs/"
}
trap cleanup EXIT
trap 'exit 0' INT TERM

# Waits until host:port accepts connections, or fails when the process died
# or $3 seconds passed.
wait_listening() {
  local port="$1" pid="$2" seconds="$3" name="$4" log="$5"
  for _ in $(seq 1 $((seconds * 10))); do
    if listening "$host" "$port"; then return 0; fi
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "demo: $name exited; its output ($log):" >&2
      cat "$log" >&2 || true
      exit 1
    fi
    sleep 0.1
  done
  echo "demo: $name does not listen on $host:$port after ${seconds}s; see $log" >&2
  exit 1
}

# Each process runs in a session of its own (setsid), so that Ctrl-C in the
# terminal reaches only this script, which then stops them in order: the tour
# and the load first, then grpcscope (it drains), then the server.
setsid "$bin/grpcscope-echo-server" --listen "$host:$server_port" --max-concurrent-streams "$stream_limit" \
  >"$logs/echo-server.log" 2>&1 &
server_pid=$!
wait_listening "$server_port" "$server_pid" 20 "the echo server" "$logs/echo-server.log"

# grpcscope's own output goes to the terminal and to its log.
setsid "$bin/grpcscope" --listen "$host:$proxy_port" --upstream "$host:$server_port" \
  --admin "$host:$admin_port" --log-level "$log_level" > >(tee "$logs/grpcscope.log") 2>&1 &
proxy_pid=$!
wait_listening "$proxy_port" "$proxy_pid" 20 "grpcscope" "$logs/grpcscope.log"

setsid "$bin/grpcscope-loadgen" --target "$host:$proxy_port" --scenario unary --connections 2 --concurrency 4 \
  --rate "$rate" --duration 0 >"$logs/loadgen-unary.log" 2>&1 &
load_pids+=($!)
if [[ "$stream_rate" != 0 ]]; then
  setsid "$bin/grpcscope-loadgen" --target "$host:$proxy_port" --scenario server-stream --stream-messages 10 \
    --response-size 4096 --concurrency 2 --rate "$stream_rate" --duration 0 \
    >"$logs/loadgen-server-stream.log" 2>&1 &
  load_pids+=($!)
fi

if [[ "$tour" != 0 ]]; then
  tour_list=$("$bin/grpcscope-demo-tour" --list | sed 's/^/                /')
  tour_info="a step every $((${tour_step%.*} + ${tour_pause%.*})) s, repeated (DEMO_TOUR=0 turns it off; log $logs/tour.log):
$tour_list"
else
  tour_info="off (DEMO_TOUR=0)"
fi

cat <<INFO

grpcscope demo is running
  page          http://$host:$admin_port/  (the live page: findings, methods, flow control, ...)
  echo server   $host:$server_port   (grpcscope-echo-server, log $logs/echo-server.log)
  grpcscope     $host:$proxy_port    (relays to the echo server, log $logs/grpcscope.log)
  load          ${rate} unary calls/s$([[ "$stream_rate" != 0 ]] && echo ", ${stream_rate} server-streaming calls/s") through grpcscope
  tour          $tour_info
  admin API     curl -s http://$host:$admin_port/api/findings
                curl -s http://$host:$admin_port/api/summary
                curl -s http://$host:$admin_port/api/methods
                curl -s http://$host:$admin_port/metrics
                curl -sN http://$host:$admin_port/api/events

Press Ctrl-C to stop.

INFO

# The tour's lines go to the terminal beside grpcscope's "finding raised" and
# "finding resolved" lines; the clients' own gRPC log (the GOAWAY they were
# sent, ...) only to its log.
if [[ "$tour" != 0 ]]; then
  setsid "$bin/grpcscope-demo-tour" --target "$host:$proxy_port" --step "$tour_step" --pause "$tour_pause" \
    --server-stream-limit "$stream_limit" > >(tee "$logs/tour.log") 2>"$logs/tour-grpc.log" &
  tour_pid=$!
fi

# Wait until Ctrl-C, or until one of the processes ends on its own.
all=("$server_pid" "$proxy_pid" "${load_pids[@]}" $tour_pid)
ended=""
wait -n -p ended "${all[@]}" || true
if [[ -n "$ended" ]]; then
  name="a demo process"
  [[ "$ended" == "$server_pid" ]] && name="the echo server"
  [[ "$ended" == "$proxy_pid" ]] && name="grpcscope"
  [[ "$ended" == "$tour_pid" ]] && name="the tour"
  for pid in "${load_pids[@]}"; do [[ "$ended" == "$pid" ]] && name="a load generator"; done
  echo "demo: $name (pid $ended) exited unexpectedly; see $logs/" >&2
  exit 1
fi
