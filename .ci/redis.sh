#!/usr/bin/env bash
# A throwaway redis-server for the tests: 127.0.0.1 only, a free port, no persistence.
#
#   url=$(.ci/redis.sh start DIR)   # prints redis://127.0.0.1:PORT/0; pid and log go in DIR
#   .ci/redis.sh stop DIR           # stops the server started with that DIR
#
# CI can export the printed URL as APITWIN_TEST_REDIS_URL; the tests then use that server.
set -euo pipefail

usage() { echo "usage: $0 start|stop DIR" >&2; exit 2; }
[ $# -eq 2 ] || usage
action=$1 dir=$2

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Running and not yet a zombie (an orphaned server may wait a while to be reaped).
running() {
    local state
    state=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
    [ "${state#Z}" = "$state" ]
}

case "$action" in
start)
    command -v redis-server >/dev/null || { echo "redis-server is not installed (Debian: apt-get install redis-server)" >&2; exit 1; }
    mkdir -p "$dir"
    # A port found free can be taken before redis binds it: try a few.
    for _ in 1 2 3 4 5; do
        port=$(free_port)
        redis-server --bind 127.0.0.1 --port "$port" --save '' --appendonly no \
            --protected-mode yes --daemonize no --dir "$dir" --logfile "$dir/redis.log" \
            </dev/null >/dev/null 2>&1 &
        pid=$!
        for _ in $(seq 50); do
            if ! kill -0 "$pid" 2>/dev/null; then break; fi
            if redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null | grep -q PONG; then
                echo "$pid" >"$dir/redis.pid"
                echo "redis://127.0.0.1:$port/0"
                exit 0
            fi
            sleep 0.1
        done
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    echo "redis-server did not start; see $dir/redis.log" >&2
    exit 1
    ;;
stop)
    [ -f "$dir/redis.pid" ] || exit 0
    pid=$(cat "$dir/redis.pid")
    rm -f "$dir/redis.pid"
    # Only our redis-server: the pid may have been reused since.
    [ "$(ps -o comm= -p "$pid" 2>/dev/null)" = redis-server ] || exit 0
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 50); do running "$pid" || exit 0; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
    ;;
*) usage ;;
esac
