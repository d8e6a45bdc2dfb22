# Docker engine and sandbox tools for MLGym's tests. Source this file, then call the functions:
#
#   source .ci/docker.sh
#   mlgym_sandbox_install        # apt-get install docker.io debootstrap bubblewrap if missing
#   mlgym_docker_start           # start dockerd in the background (no-op if one answers already)
#   mlgym_docker_base_image      # build the offline base image (cached by docker, ~40-90 s once)
#   ...tests...
#   mlgym_docker_stop            # stop the dockerd this file started, by its PID
#
# dockerd runs with its own data/exec roots and pidfile, no bridge and no iptables: containers get
# `network_mode=none` anyway, and this machine's kernel offers no bridge NAT. The default runtime
# (runc) is used. Set MLGYM_DOCKER_ROOT to move its state (default /var/lib/mlgym-docker).

MLGYM_DOCKER_ROOT="${MLGYM_DOCKER_ROOT:-/var/lib/mlgym-docker}"
MLGYM_DOCKER_HOST="${MLGYM_DOCKER_HOST:-unix:///var/run/docker.sock}"
_MLGYM_DOCKER_STARTED=""

mlgym_sandbox_install() {
    local missing=()
    command -v dockerd >/dev/null 2>&1 || missing+=(docker.io)
    command -v debootstrap >/dev/null 2>&1 || missing+=(debootstrap)
    command -v bwrap >/dev/null 2>&1 || missing+=(bubblewrap)
    command -v setpriv >/dev/null 2>&1 || missing+=(util-linux)
    if [ "${#missing[@]}" -gt 0 ]; then
        echo "installing ${missing[*]}"
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
    fi
}

mlgym_docker_running() {
    DOCKER_HOST="$MLGYM_DOCKER_HOST" "${PYTHON:-python3}" - <<'EOF' >/dev/null 2>&1
import docker
docker.from_env(timeout=5).ping()
EOF
}

mlgym_docker_start() {
    if mlgym_docker_running; then
        echo "dockerd already answers at $MLGYM_DOCKER_HOST"
        return 0
    fi
    mkdir -p "$MLGYM_DOCKER_ROOT"
    dockerd --bridge=none --iptables=false --ip6tables=false \
        --data-root "$MLGYM_DOCKER_ROOT/data" --exec-root "$MLGYM_DOCKER_ROOT/exec" \
        --pidfile "$MLGYM_DOCKER_ROOT/dockerd.pid" --host "$MLGYM_DOCKER_HOST" \
        >"$MLGYM_DOCKER_ROOT/dockerd.log" 2>&1 &
    _MLGYM_DOCKER_STARTED=$!
    local i
    for i in $(seq 1 60); do
        if mlgym_docker_running; then
            echo "dockerd started (pid $_MLGYM_DOCKER_STARTED, log $MLGYM_DOCKER_ROOT/dockerd.log)"
            return 0
        fi
        if ! kill -0 "$_MLGYM_DOCKER_STARTED" 2>/dev/null; then
            break
        fi
        sleep 0.5
    done
    echo "dockerd did not start; last lines of $MLGYM_DOCKER_ROOT/dockerd.log:" >&2
    tail -n 20 "$MLGYM_DOCKER_ROOT/dockerd.log" >&2
    return 1
}

mlgym_docker_stop() {
    local pid="$_MLGYM_DOCKER_STARTED"
    if [ -z "$pid" ]; then
        return 0  # we did not start it: leave it alone
    fi
    kill "$pid" 2>/dev/null || true
    local i
    for i in $(seq 1 40); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.25
    done
    kill -9 "$pid" 2>/dev/null || true
    _MLGYM_DOCKER_STARTED=""
}

mlgym_docker_base_image() {
    DOCKER_HOST="$MLGYM_DOCKER_HOST" "${PYTHON:-python3}" -m mlgym.sandbox.images base
}
