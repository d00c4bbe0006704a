#!/usr/bin/env bash
# Build the container image with a private Docker engine and smoke-test it (`make image-test`);
# with --build-only, just build it (`make image`). As root on Debian (bookworm), no registry:
#
#  1. install docker.io and debootstrap when missing;
#  2. start a private dockerd: its own data root, exec root, socket and config, no iptables, no
#     bridge, no IP forwarding. Builds and containers use --network host (there is no other
#     network). A trap always stops it and removes its mounts, sockets and run directory;
#  3. build the local base (debootstrap --variant=minbase bookworm, docker import, then
#     deploy/image/base.Dockerfile: Debian's python3.11 and the host's CA bundle), then the image
#     from the project's Dockerfile with --build-arg BASE=<the local base>;
#  4. check that the image holds the runtime pins and no test-only distribution;
#  5. run it read-only, as its non-root user, with deploy/image/smoke-config.yaml and a volume;
#     send a trace (200), check the redacted forward to a capture receiver on loopback, the
#     HEALTHCHECK, a clean stop, the stored objects in the volume, and `tracevault doctor`
#     (in a second container without any network);
#  6. stop everything, and fail if the host's links, addresses, routes, packet filter rules or
#     forwarding sysctls differ from before.
#
# The debootstrap tarball and the engine's data root (image layers, build cache) are kept in
# $TRACEVAULT_IMAGE_CACHE (default /var/tmp/tracevault-image) so that a second run is fast;
# delete that directory for a cold run. Loopback ports used: 24317, 24318, 24320 (no test uses
# them; checked free first). The host-side checks run with $IMAGE_PYTHON (default .venv/bin/python,
# which `make test` creates: it has the OpenTelemetry SDK and pyarrow).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
CACHE=${TRACEVAULT_IMAGE_CACHE:-/var/tmp/tracevault-image}
IMAGE=${TRACEVAULT_IMAGE:-tracevault:0.1.0-local}
ROOTFS_IMAGE=tracevault-rootfs:bookworm-slim   # bump the tag when slim_rootfs changes
BASE_IMAGE=tracevault-base:bookworm-py3.11
BUILDER_IMAGE=tracevault-builder:local
SUITE=bookworm
HTTP_PORT=24318
GRPC_PORT=24317
CAPTURE_PORT=24320
CONTAINER=tracevault-image-test
BUILD_ONLY=false
[[ ${1:-} == --build-only ]] && BUILD_ONLY=true
DOCKER=/usr/bin/docker   # Debian's client, matching the daemon (not another docker on PATH)

STARTED=$(date +%s)
RUN=""
DOCKERD_PID=""
# Made by dockerd and its containerd whatever their roots are (plugin sockets, shim sockets);
# removed again if this run created them and they are empty.
ENGINE_DIRS=(/run/docker /run/docker/plugins /run/containerd /run/containerd/s)
CREATED_DIRS=()

say() { printf 'image-test: %s\n' "$*"; }
die() { say "FAILED: $*" >&2; exit 1; }
elapsed() { echo "$(( $(date +%s) - $1 ))s"; }
timed() {  # timed LABEL command...: run it, print how long it took
    local label=$1 t0
    shift
    t0=$(date +%s)
    "$@"
    say "$label: $(elapsed "$t0")"
}
docker() { "$DOCKER" "$@"; }

[[ $(id -u) == 0 ]] || die "must run as root (it starts a Docker engine)"
[[ -r /etc/debian_version ]] || die "needs a Debian host (apt-get, debootstrap)"

install_tools() {
    local missing=()
    [[ -x /usr/sbin/dockerd && -x $DOCKER ]] || missing+=(docker.io)
    command -v debootstrap >/dev/null || missing+=(debootstrap)
    command -v iptables-save >/dev/null || missing+=(iptables)
    [[ ${#missing[@]} == 0 ]] && return
    say "installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# The first Debian archive URI of the host's APT sources: the mirror that works here.
debian_mirror() {
    local uri
    uri=$(grep -hs -E '^(URIs:|deb )' /etc/apt/sources.list /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list 2>/dev/null \
        | grep -v security | grep -o -E 'https?://[^ ]+/debian/?' | head -n 1 || true)
    echo "${uri:-http://deb.debian.org/debian}"
}

network_state() {
    ip -o link show | sed -E 's/ qdisc [^ ]+//; s/ qlen [0-9]+//'
    ip -o addr show
    ip route show table all
    ip -6 route show table all 2>/dev/null || true
    ip rule show
    iptables-save 2>/dev/null | grep -v '^#' | sed -E 's/\[[0-9]+:[0-9]+\]//' || true
    ip6tables-save 2>/dev/null | grep -v '^#' | sed -E 's/\[[0-9]+:[0-9]+\]//' || true
    if command -v nft >/dev/null; then nft list ruleset 2>/dev/null || true; fi
    sysctl -n net.ipv4.ip_forward net.ipv6.conf.all.forwarding 2>/dev/null || true
    sysctl -a 2>/dev/null | grep -E '^net\.bridge\.' || true
}

# Mounts under our directories, deepest first.
our_mounts() {
    awk '{print $5}' /proc/self/mountinfo | grep -E "^($RUN|$CACHE)(/|$)" | sort -r || true
}

stop_engine() {
    [[ -n $DOCKERD_PID ]] || return 0
    local children pid
    if kill -0 "$DOCKERD_PID" 2>/dev/null; then
        docker rm -f "$CONTAINER" "$CONTAINER-doctor" >/dev/null 2>&1 || true
        docker image prune -f >/dev/null 2>&1 || true   # superseded builds; keeps the layer cache
        children=$(pgrep -P "$DOCKERD_PID" || true)      # its own containerd
        kill -TERM "$DOCKERD_PID"
        for _ in $(seq 1 60); do kill -0 "$DOCKERD_PID" 2>/dev/null || break; sleep 0.5; done
        if kill -0 "$DOCKERD_PID" 2>/dev/null; then
            say "dockerd did not stop in 30 s; killing it and its containerd" >&2
            kill -KILL "$DOCKERD_PID" 2>/dev/null || true
            for pid in $children; do kill -KILL "$pid" 2>/dev/null || true; done
        fi
    fi
    wait "$DOCKERD_PID" 2>/dev/null || true
    DOCKERD_PID=""
}

cleanup() {
    local status=$? problems=() mount left dir
    trap - EXIT INT TERM
    set +e
    stop_engine
    left=$(pgrep -a -f -- "$RUN/" || true)   # dockerd, containerd, shims: all use $RUN
    [[ -z $left ]] || problems+=("processes left: $left")
    for mount in $(our_mounts); do umount "$mount" 2>/dev/null || umount -l "$mount" 2>/dev/null; done
    [[ -z $(our_mounts) ]] || problems+=("mounts left: $(our_mounts | tr '\n' ' ')")
    [[ -n $RUN ]] && rm -rf "$RUN"
    for dir in "${CREATED_DIRS[@]}"; do   # deepest first
        [[ ! -e $dir ]] || rmdir "$dir" 2>/dev/null || problems+=("$dir is not empty")
    done
    if [[ -n $RUN && -f $CACHE/network.before ]]; then
        network_state > "$CACHE/network.after"
        if ! diff -u "$CACHE/network.before" "$CACHE/network.after" >&2; then
            problems+=("the host's network settings changed (diff above)")
        fi
    fi
    rm -f "$CACHE/network.before" "$CACHE/network.after"
    if [[ ${#problems[@]} -gt 0 ]]; then
        for p in "${problems[@]}"; do say "FAILED in cleanup: $p" >&2; done
        status=1
    fi
    say "$([[ $status == 0 ]] && echo passed || echo FAILED) in $(elapsed "$STARTED") (engine stopped, run directory removed)"
    exit "$status"
}

start_engine() {
    mkdir -p "$CACHE/docker"
    # Not /etc/docker/daemon.json: nothing of the host's config; and its key not in /etc/docker.
    printf '{"deprecated-key-path": "%s"}\n' "$CACHE/engine-key.json" > "$RUN/daemon.json"
    local dir
    for dir in "${ENGINE_DIRS[@]}"; do [[ -e $dir ]] || CREATED_DIRS=("$dir" "${CREATED_DIRS[@]}"); done
    network_state > "$CACHE/network.before"
    /usr/sbin/dockerd --data-root "$CACHE/docker" --exec-root "$RUN/x" --pidfile "$RUN/dockerd.pid" \
        --host "unix://$RUN/docker.sock" --config-file "$RUN/daemon.json" \
        --iptables=false --ip6tables=false --ip-masq=false --ip-forward=false --bridge=none \
        --userland-proxy=false --log-level=warn > "$RUN/dockerd.log" 2>&1 9>&- &
    DOCKERD_PID=$!
    export DOCKER_HOST="unix://$RUN/docker.sock" DOCKER_CONFIG="$RUN/client" DOCKER_BUILDKIT=0
    for _ in $(seq 1 120); do
        docker version >/dev/null 2>&1 && return 0
        kill -0 "$DOCKERD_PID" 2>/dev/null || break
        sleep 0.5
    done
    say "the Docker engine could not start; its log:" >&2
    tail -n 30 "$RUN/dockerd.log" >&2 || true
    die "no Docker engine (dockerd $([[ -n $DOCKERD_PID ]] && kill -0 "$DOCKERD_PID" 2>/dev/null && echo 'did not answer in 60 s' || echo exited))"
}

# As Debian's -slim images do: no downloaded packages, APT lists, manuals, docs or translations,
# now or in what apt installs later (dpkg path-exclude). Copyright files stay.
slim_rootfs() {
    local rootfs=$1
    mkdir -p "$rootfs/etc/dpkg/dpkg.cfg.d"
    printf '%s\n' 'path-exclude /usr/share/doc/*' 'path-include /usr/share/doc/*/copyright' \
        'path-exclude /usr/share/man/*' 'path-exclude /usr/share/info/*' 'path-exclude /usr/share/locale/*' \
        'path-include /usr/share/locale/locale.alias' 'path-exclude /usr/share/lintian/*' \
        > "$rootfs/etc/dpkg/dpkg.cfg.d/90-tracevault-slim"
    rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* "$rootfs"/usr/share/man/* \
        "$rootfs"/usr/share/info/* "$rootfs"/usr/share/lintian/*
    find "$rootfs/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
    find "$rootfs/usr/share/locale" -mindepth 1 -maxdepth 1 -not -name locale.alias -exec rm -rf {} +
}

build_base() {
    local tarball="$CACHE/${ROOTFS_IMAGE/:/-}.tar" cert=${PIP_CERT:-/etc/ssl/certs/ca-certificates.crt}
    if ! docker image inspect "$ROOTFS_IMAGE" >/dev/null 2>&1; then
        if [[ ! -s $tarball ]]; then
            local mirror
            mirror=$(debian_mirror)
            say "debootstrap --variant=minbase $SUITE from $mirror"
            debootstrap --variant=minbase "$SUITE" "$RUN/rootfs" "$mirror" > "$RUN/debootstrap.log" 2>&1 \
                || { tail -n 20 "$RUN/debootstrap.log" >&2; die "debootstrap failed"; }
            slim_rootfs "$RUN/rootfs"
            tar -C "$RUN/rootfs" --numeric-owner -cf "$tarball.part" . && mv "$tarball.part" "$tarball"
            rm -rf "$RUN/rootfs"
        fi
        docker import "$tarball" "$ROOTFS_IMAGE" >/dev/null
    fi
    [[ -r $cert ]] || die "no CA bundle at $cert (PIP_CERT) for pip in the build"
    mkdir -p "$RUN/base" && cp "$cert" "$RUN/base/ca-certificates.crt"
    docker build --network host -f "$ROOT/deploy/image/base.Dockerfile" -t "$BASE_IMAGE" \
        --build-arg ROOTFS="$ROOTFS_IMAGE" --build-arg PIP_DEFAULT_TIMEOUT="${PIP_DEFAULT_TIMEOUT:-60}" "$RUN/base" \
        > "$RUN/base.log" 2>&1 || { tail -n 30 "$RUN/base.log" >&2; die "building the local base failed"; }
}

build_image() {
    local proxy=() name target
    for name in HTTP_PROXY HTTPS_PROXY NO_PROXY http_proxy https_proxy no_proxy; do   # as the host has them
        [[ -n ${!name:-} ]] && proxy+=(--build-arg "$name=${!name}")
    done
    # The builder stage first, tagged: an untagged stage is "dangling", and the prune at the end
    # would take the next run's layer cache (the pip installs) with it.
    for target in "--target builder -t $BUILDER_IMAGE" "-t $IMAGE"; do
        # shellcheck disable=SC2086  # $target is two options
        docker build --network host --build-arg BASE="$BASE_IMAGE" "${proxy[@]}" $target "$ROOT" >> "$RUN/build.log" 2>&1 \
            || { tail -n 40 "$RUN/build.log" >&2; die "docker build failed"; }
    done
    say "build steps reused from the cache: $(grep -c 'Using cache' "$RUN/build.log" || true) of $(grep -c '^Step ' "$RUN/build.log") (the builder stage, then the image)"
    local bytes
    bytes=$(docker image inspect -f '{{.Size}}' "$IMAGE")
    say "built $IMAGE on $BASE_IMAGE: $(( bytes / 1000000 )) MB ($(( bytes / 1048576 )) MiB)"
}

check_image_shape() {
    local user volumes health
    user=$(docker image inspect -f '{{.Config.User}}' "$IMAGE")
    volumes=$(docker image inspect -f '{{json .Config.Volumes}}' "$IMAGE")
    health=$(docker image inspect -f '{{json .Config.Healthcheck.Test}}' "$IMAGE")
    [[ $user == 10001:10001 ]] || die "image user is '$user', expected 10001:10001"
    [[ $volumes == *'"/var/lib/tracevault"'* ]] || die "no VOLUME /var/lib/tracevault ($volumes)"
    [[ $health == *sidecar.healthcheck* ]] || die "no HEALTHCHECK with the probe ($health)"
    docker run --rm --network none --entrypoint python "$IMAGE" -c \
        'import importlib.metadata as m; print("\n".join(sorted(d.name + "==" + d.version for d in m.distributions())))' \
        > "$RUN/dists.txt"
    "$PY" "$ROOT/deploy/image/smoke.py" dists "$RUN/dists.txt"
}

ports_free() {
    local port
    for port in $HTTP_PORT $GRPC_PORT $CAPTURE_PORT; do
        if ss -Htln "sport = :$port" | grep -q .; then die "loopback port $port is in use"; fi
    done
}

run_args() {  # RUN_ARGS: read-only, the image's non-root user, the smoke config and the volume
    RUN_ARGS=(--read-only --tmpfs /tmp --network "$1" -e TRACEVAULT_MASTER_KEY
        -v "$RUN/data:/var/lib/tracevault" -v "$ROOT/deploy/image/smoke-config.yaml:/etc/tracevault/tracevault.yaml:ro")
}

wait_healthy() {
    local health=""
    for _ in $(seq 1 90); do
        health=$(docker inspect -f '{{.State.Health.Status}}' "$CONTAINER")
        [[ $health == healthy ]] && { say "HEALTHCHECK: healthy"; return 0; }
        sleep 1
    done
    die "HEALTHCHECK status is '$health' after 90 s"
}

smoke() {
    local started pid uid code
    install -d -o 10001 -g 10001 -m 0700 "$RUN/data"
    TRACEVAULT_MASTER_KEY=$(head -c 32 /dev/urandom | base64)
    export TRACEVAULT_MASTER_KEY   # into the container by name (-e NAME), never on a command line
    ports_free
    started=$(date +%s.%N)
    run_args host
    docker run -d --name "$CONTAINER" "${RUN_ARGS[@]}" "$IMAGE" >/dev/null
    "$PY" "$ROOT/deploy/image/smoke.py" ready "http://127.0.0.1:$HTTP_PORT" "$started"
    pid=$(docker inspect -f '{{.State.Pid}}' "$CONTAINER")
    uid=$(awk '/^Uid:/ {print $2}' "/proc/$pid/status")
    [[ $uid == 10001 ]] || die "the server runs as uid $uid, not 10001"
    say "the server runs as uid $uid on a read-only root filesystem"
    "$PY" "$ROOT/deploy/image/smoke.py" trace "http://127.0.0.1:$HTTP_PORT/v1/traces" "$CAPTURE_PORT"
    wait_healthy
    docker stop -t 60 "$CONTAINER" >/dev/null
    code=$(docker inspect -f '{{.State.ExitCode}}' "$CONTAINER")
    [[ $code == 0 ]] || { docker logs "$CONTAINER" 2>&1 | tail -n 20 >&2; die "serve exited $code on SIGTERM"; }
    say "stopped with SIGTERM, exit 0"
    "$PY" "$ROOT/deploy/image/smoke.py" volume "$RUN/data"
    run_args none
    docker run --rm --name "$CONTAINER-doctor" "${RUN_ARGS[@]}" "$IMAGE" doctor --config /etc/tracevault/tracevault.yaml \
        || die "tracevault doctor failed in the container"
    docker rm "$CONTAINER" >/dev/null
}

main() {
    cd "$ROOT"
    if [[ $BUILD_ONLY == false ]]; then
        PY=${IMAGE_PYTHON:-$ROOT/.venv/bin/python}
        [[ $PY == /* ]] || PY="$ROOT/$PY"
        [[ -x $PY ]] || die "no Python for the checks at $PY (run make test first, or set IMAGE_PYTHON)"
        export PYTHONPATH="$ROOT"
        "$PY" -c 'import opentelemetry.sdk, pyarrow' || die "$PY lacks the OpenTelemetry SDK or pyarrow"
    fi
    timed "tools" install_tools
    mkdir -p "$CACHE"
    exec 9> "$CACHE/lock"
    flock -w 1800 9 || die "another image-test holds $CACHE/lock"
    RUN=$(mktemp -d /run/tvimg.XXXXXX)   # short: containerd's socket paths live under it
    trap cleanup EXIT
    trap 'exit 130' INT TERM
    timed "engine start" start_engine
    timed "local base" build_base
    timed "image build" build_image
    [[ $BUILD_ONLY == true ]] && return 0
    timed "image contents" check_image_shape
    timed "smoke test" smoke
}

main
