#!/usr/bin/env bash
# The real Celery Director (celery-director 0.10.0) on 127.0.0.1, for the conformance run
# against it (tests/test_real_director.py).
#
#   .ci/director.sh install                  # builds .cache/director-venv (reused while the pins match)
#   .ci/director.sh start DIR [USER:PASS]    # prints http://127.0.0.1:PORT (and a second URL)
#   .ci/director.sh stop DIR                 # stops everything started with that DIR
#
# start: a throwaway redis-server as broker (.ci/redis.sh), `director init DIR`, `director db
# upgrade` on SQLite, one `director celery worker` and `director webserver` (gunicorn) on a free
# port; waits for GET /api/ping. With USER:PASS, that user exists and a second webserver serves
# the same Director (database, broker, worker) with basic auth on (DIRECTOR_AUTH_ENABLED, read
# when the app is made); its URL is the second line. Each process runs in its own session; stop
# signals those process groups only (worker and gunicorn children included), then kill -9 after
# a bounded wait.
set -euo pipefail

cd "$(dirname "$0")/.."
repo=$PWD
venv=$repo/.cache/director-venv
requirements=$repo/.ci/director-requirements.txt

usage() { echo "usage: $0 install | start DIR [USER:PASS] | stop DIR" >&2; exit 2; }

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# GET /api/ping answers 200. Bash's own /dev/tcp: a probe every 0.1 s must not start a
# process each time (a Python one costs more CPU than the wait it polls).
answers_ping() {
    local status=""
    { exec 3<>"/dev/tcp/127.0.0.1/$1"; } 2>/dev/null || return 1
    printf 'GET /api/ping HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' >&3
    read -r -t 2 status <&3 || true
    exec 3>&-
    [[ $status == "HTTP/1."?" 200"* ]]
}

# Running and not yet a zombie.
running() {
    local state
    state=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
    [ "${state#Z}" = "$state" ]
}

# Director imports `imp` and `distutils`: Python 3.11 at the latest.
python311() {
    local py
    for py in python3.11 python3; do
        if command -v "$py" >/dev/null &&
            "$py" -c 'import sys; sys.exit(not (3, 8) <= sys.version_info[:2] < (3, 12))'; then
            echo "$py"
            return
        fi
    done
    echo "Celery Director needs Python 3.8-3.11 (python3.11 or python3); none found" >&2
    exit 1
}

install() {
    # One build at a time: parallel test workers (pytest -n) may all ask for it at once. The
    # lock is held by a subshell only, so no Director process started later inherits it.
    mkdir -p "$(dirname "$venv")"
    (
        flock 9
        # The stamp records which pins the venv was built from; a change rebuilds it.
        stamp=$venv/.apitwin-pins
        if [ -x "$venv/bin/director" ] && cmp -s "$requirements" "$stamp"; then
            exit 0
        fi
        rm -rf "$venv"
        "$(python311)" -m venv "$venv"
        "$venv/bin/pip" install --quiet --disable-pip-version-check --no-deps -r "$requirements"
        "$venv/bin/pip" check >/dev/null
        cp "$requirements" "$stamp"
    ) 9>"$venv.lock"
}

# Starts "$@" in a session of its own (its pid is the process group's id) and records the pid.
spawn() {
    local name=$1
    shift
    setsid "$@" </dev/null >"$dir/$name.log" 2>&1 &
    echo $! >"$dir/$name.pid"
}

# Sends TERM to a group we started and prints its id, to be waited for by wait_groups.
stop_group() {
    local pidfile=$dir/$1.pid pid
    [ -f "$pidfile" ] || return 0
    pid=$(cat "$pidfile")
    rm -f "$pidfile"
    # Only a group we started: its leader must still be a process of our venv.
    running "$pid" || return 0
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q "$venv" || return 0
    kill -TERM -- "-$pid" 2>/dev/null || true
    echo "$pid"
}

# Waits up to 10 s for the groups to go (no process has that pgid any more), then kills the rest.
wait_groups() {
    local pid left
    for _ in $(seq 100); do
        left=0
        for pid in "$@"; do pgrep -g "$pid" >/dev/null && left=1; done
        [ "$left" = 0 ] && return 0
        sleep 0.1
    done
    for pid in "$@"; do kill -KILL -- "-$pid" 2>/dev/null || true; done
}

start() {
    install
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    local home=$dir/home broker auth=${1:-}
    started=0
    # Whatever fails from here on, stop what was started.
    trap '[ "$started" = 1 ] || stop_all' EXIT
    broker=$(.ci/redis.sh start "$dir/redis")

    # The environment wins over the project's .env (environs does not override it).
    export DIRECTOR_HOME=$home
    export DIRECTOR_DATABASE_URI=sqlite:///$home/director.db
    export DIRECTOR_BROKER_URI=$broker
    export DIRECTOR_RESULT_BACKEND_URI=${broker%/0}/1
    export DIRECTOR_AUTH_ENABLED=false
    export DIRECTOR_DEFAULT_RETENTION_OFFSET=-1
    export PATH=$venv/bin:$PATH
    director init "$home" >/dev/null
    director db upgrade >"$dir/db.log" 2>&1
    if [ -n "$auth" ]; then
        # Werkzeug's default hash (PBKDF2, 600,000 rounds) costs ~0.5 s of CPU on every request:
        # a conformance run took 205 s instead of 28 s. This throwaway user gets 1,000 rounds;
        # the API checks it the same way (the method is read from the stored hash). Created as
        # `director user create` does, in this one process.
        "$venv/bin/python" - "${auth%%:*}" "${auth#*:}" <<'EOF'
import sys
from werkzeug.security import generate_password_hash
from director import create_app
from director.models.users import User

with create_app().app_context():
    hashed = generate_password_hash(sys.argv[2], "pbkdf2:sha256:1000")
    User(username=sys.argv[1], password=hashed).save()
EOF
    fi

    spawn worker "$venv/bin/director" celery worker --concurrency 2 --loglevel INFO
    serve_web webserver false
    if [ -n "$auth" ]; then
        serve_web webserver-auth true
    fi
    started=1
}

# Starts `director webserver` (gunicorn) as the process group NAME on a free port, basic auth
# on or off, and prints its URL once GET /api/ping answers.
serve_web() {
    local name=$1 port
    export DIRECTOR_AUTH_ENABLED=$2
    # A port found free can be taken before gunicorn binds it: try a few.
    for _ in 1 2 3; do
        port=$(free_port)
        spawn "$name" "$venv/bin/director" webserver --bind "127.0.0.1:$port" --workers 1 \
            --timeout 30
        local deadline=$((SECONDS + 30))
        while [ $SECONDS -lt $deadline ]; do
            running "$(cat "$dir/$name.pid")" || break
            if answers_ping "$port"; then
                echo "http://127.0.0.1:$port"
                return
            fi
            sleep 0.1
        done
        # shellcheck disable=SC2046 # one pid, or none
        wait_groups $(stop_group "$name")
    done
    echo "director webserver ($name) did not answer /api/ping; see $dir/$name.log" >&2
    exit 1
}

stop_all() {
    # All at once: each takes seconds to wind down (the worker waits for its pool).
    # shellcheck disable=SC2046 # one pid per line, or none
    wait_groups $(stop_group webserver) $(stop_group webserver-auth) $(stop_group worker)
    .ci/redis.sh stop "$dir/redis"
}

case "${1:-}" in
install)
    [ $# -eq 1 ] || usage
    install
    ;;
start)
    [ $# -eq 2 ] || [ $# -eq 3 ] || usage
    dir=$2
    start "${3:-}"
    ;;
stop)
    [ $# -eq 2 ] || usage
    dir=$2
    [ -d "$dir" ] || exit 0
    dir=$(cd "$dir" && pwd)
    stop_all
    ;;
*) usage ;;
esac
