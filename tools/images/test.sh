#!/usr/bin/env bash
# The image test (npm run test:images), on a machine without a Docker engine:
#   1. builds the local Node base (from its cached tar when there is one) and the four app
#      images with buildah, into a container store of the test's own in a temporary folder,
#      and checks that no source, test or dev dependency is in a runtime image;
#   2. starts `podman system service` and runs compose.yaml with docker-compose against it:
#      registry, two agencies, two DCUs sharing one volume, the researchers simulation;
#   3. pass 1: the researchers container runs to completion; its exit code must be 0 and its
#      summary must say no operation failed and the ledger check passed; the registry (asked
#      through its published port) lists every service by its compose name, and both DCUs
#      see the same accounts in their shared volume;
#   4. pass 2: the simulation runs again on the same system, and one DCU's node process is
#      killed (SIGKILL) mid-run: the run must still pass, and the restart policy must bring
#      that DCU back, healthy;
#   5. every service must stop on SIGTERM with exit code 0; compose down must leave no
#      container, volume or network; then no image may be left, the test's store is removed
#      and no network interface may be left on the machine.
# Every wait is bounded. The base image tar stays cached in $IMAGES_CACHE_DIR.
#
# Environment: IMAGES_TEST_KEEP=1 keeps the logs in the temporary folder for a look.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
need buildah podman runc docker-compose node

started_at=$SECONDS
passed=0
failed=0
check() {
  local what=$1
  shift
  if "$@"; then
    passed=$((passed + 1))
    log "ok: $what"
  else
    failed=$((failed + 1))
    log "FAILED: $what"
  fi
}

work=$(mktemp -d /tmp/grantline-images-test.XXXXXX)
project="grantline-images-test-$$"
service_pid=""
health_pid=""

# A container store, podman state and network configuration of the test's own: nothing
# touches the machine's default store, and removing the folder removes everything.
cat >"$work/storage.conf" <<EOF
[storage]
driver = "overlay"
graphroot = "$work/storage"
runroot = "$work/run"
EOF
# The settings of tools/images/containers.conf, plus the test's own state folders.
cat >"$work/containers.conf" <<EOF
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=4096:4096"]
log_driver = "k8s-file"

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
tmp_dir = "$work/tmp"
volume_path = "$work/storage/volumes"

[network]
network_config_dir = "$work/networks"
EOF
mkdir -p "$work/tmp" "$work/networks"
export CONTAINERS_STORAGE_CONF="$work/storage.conf"
export CONTAINERS_CONF="$work/containers.conf"
export DOCKER_HOST="unix://$work/podman.sock"
export COMPOSE_HTTP_TIMEOUT=120
unset COMPOSE_FILE COMPOSE_PROJECT_NAME

network_links() { find /sys/class/net -mindepth 1 -maxdepth 1 -printf "%f\n" | sort; }
links_before=$(network_links)

compose=(docker-compose --ansi never -p "$project" -f "$REPO_ROOT/compose.yaml" --env-file "$work/env")

teardown() {
  local status=$?
  set +e
  trap - EXIT INT TERM
  if [[ -n "$health_pid" ]]; then
    kill "$health_pid" 2>/dev/null
    wait "$health_pid" 2>/dev/null
  fi
  if [[ -n "$service_pid" ]]; then
    timeout 120 "${compose[@]}" down --volumes --remove-orphans --timeout 5 >>"$work/compose.log" 2>&1
    kill "$service_pid" 2>/dev/null
    wait "$service_pid" 2>/dev/null
  fi
  # Whatever a failed run left in the test's own store.
  timeout 60 podman rm --all --force --time 0 >/dev/null 2>&1
  timeout 60 podman volume rm --all --force >/dev/null 2>&1
  for net in $(podman network ls --format '{{.Name}}' 2>/dev/null); do
    [[ "$net" == podman ]] || podman network rm --force "$net" >/dev/null 2>&1
  done
  timeout 60 buildah rm --all >/dev/null 2>&1
  timeout 120 podman system reset --force >/dev/null 2>&1
  # Nothing may stay mounted below the folder before it goes.
  grep -F " $work/" /proc/mounts | awk '{ print $2 }' | sort -r | xargs -r -n1 umount -l 2>/dev/null
  if [[ "${IMAGES_TEST_KEEP:-}" == 1 ]]; then
    rm -rf --one-file-system "$work/storage" "$work/run"
    log "logs kept in $work"
  else
    rm -rf --one-file-system "$work"
  fi
  local leftover
  leftover=$(comm -13 <(echo "$links_before") <(network_links) | tr '\n' ' ')
  if [[ -n "${leftover// /}" ]]; then
    log "FAILED: network interfaces left behind: $leftover"
    status=1
  fi
  log "image test took $((SECONDS - started_at)) s"
  exit "$status"
}
trap teardown EXIT
trap 'exit 130' INT TERM

secret() { node -e 'process.stdout.write(require("crypto").randomBytes(24).toString("hex"))'; }
# A type's registration token, as `npm run token -- <type>` prints it (API.md, "Trust between services").
type_token() { node -e 'process.stdout.write(require("crypto").createHmac("sha256", process.argv[1]).update(process.argv[2]).digest("hex"))' "$1" "$2"; }
registry_token=$(secret)
cat >"$work/env" <<EOF
REGISTRY_TOKEN=$registry_token
AGENCY_REGISTRATION_TOKEN=$(type_token "$registry_token" agency)
DCU_REGISTRATION_TOKEN=$(type_token "$registry_token" dcu)
SERVICE_TOKEN=$(secret)
ACCOUNT_KEY_SECRET=$(secret)
BASE_IMAGE=$BASE_IMAGE
IMAGE_TAG=$IMAGE_TAG
REGISTRY_PUBLISH=127.0.0.1::9000
SIM_STUDENTS=2
SIM_PAUSE_MS=50-200
SIM_TIMEOUT_MS=150000
EOF

# --- 1. Images ---------------------------------------------------------------------------

runtime_images_are_lean() {
  local app
  for app in "${APPS[@]}"; do
    # shellcheck disable=SC2016
    podman run --rm --no-healthcheck --entrypoint sh "$(image_name "$app")" -c '
      test -f "/app/apps/$0/dist/main.js" || { echo "no dist/main.js"; exit 1; }
      found=$(find /app/apps /app/libs -name "*.ts" -o -name "*.test.js" -o -name src -o -name test |
        head -1)$(find /app/node_modules -name "*.ts" -o -type d -name test -o -type d -name tests |
        head -1)
      test -z "$found" || { echo "found $found"; exit 1; }
      for dev in typescript jest nx @swc eslint ts-jest; do
        test ! -e "/app/node_modules/$dev" || { echo "dev dependency $dev"; exit 1; }
      done
      test "$(id -u)" = 1000 || { echo "runs as uid $(id -u)"; exit 1; }' "$app" ||
      { log "$app image fails the content check"; return 1; }
  done
}

log "building the base and the app images into $work/storage"
build_images() { bash "$IMAGES_DIR/build-all.sh" 2>&1 | sed 's/^/  /' >&2; }
check "the base and the four app images build" build_images
for app in "${APPS[@]}"; do
  check "image $(image_name "$app") exists" podman image exists "$(image_name "$app")"
done
if ((failed > 0)); then
  printf '%d passed, %d failed\n' "$passed" "$failed"
  exit 1
fi
check "runtime images: compiled app, no sources, tests or dev dependencies, user node" \
  runtime_images_are_lean

# --- 2. podman's Docker API, for docker-compose ---------------------------------------------

podman system service --time=0 "$DOCKER_HOST" >"$work/podman-service.log" 2>&1 &
service_pid=$!
for _ in $(seq 1 100); do
  [[ -S "$work/podman.sock" ]] && break
  sleep 0.1
done
check "podman API socket is up" test -S "$work/podman.sock"

# Podman runs health checks from systemd timers; there is no systemd here, so this loop
# plays the timer: every second podman itself runs each container's check and records it.
# One container after the other: on two busy cores parallel checks only time each other out.
(
  while sleep 1; do
    for id in $(podman ps --quiet 2>/dev/null); do
      podman healthcheck run "$id" >/dev/null 2>&1 || true
    done
  done
) &
health_pid=$!

# The container of a compose service (docker-compose labels it).
container_of() {
  podman ps --all --filter "label=com.docker.compose.project=$project" \
    --filter "label=com.docker.compose.service=$1" --format '{{.ID}}' | head -1
}

# What the registry lists, asked from the host through its published port.
registry_services() {
  local port
  port=$(podman port "$(container_of registry)" 9000/tcp | head -1 | sed 's/.*://')
  # shellcheck disable=SC2016
  node -e '
    fetch(`http://127.0.0.1:${process.argv[1]}/services`)
      .then((response) => response.json())
      .then((body) => {
        const services = body.services ?? {};
        const urls = (type) => (services[type] ?? []).map((i) => i.url).sort().join(",");
        console.log(`agency=${urls("agency")} dcu=${urls("dcu")}`);
      })
      .catch((error) => console.log(`unreachable: ${error.message}`));' "$port"
}

registry_lists_everyone() {
  local want="agency=http://agency1:9001,http://agency2:9001 dcu=http://dcu1:9002,http://dcu2:9002"
  local got=""
  for _ in $(seq 1 30); do
    got=$(registry_services)
    [[ "$got" == "$want" ]] && return 0
    sleep 0.5
  done
  log "the registry lists: $got"
  return 1
}

# A container that has restarted at least once and is running and healthy again.
restarted_and_healthy() {
  local state=""
  for _ in $(seq 1 60); do
    state=$(podman inspect --format '{{.RestartCount}} {{.State.Status}} {{.State.Health.Status}}' "$1")
    [[ "$state" =~ ^[1-9][0-9]*\ running\ healthy$ ]] && return 0
    sleep 0.5
  done
  log "restarts, status, health: $state"
  return 1
}

same_accounts_in_both_dcus() {
  local one two
  one=$(podman exec "$(container_of dcu1)" ls -A /data/accounts 2>/dev/null)
  two=$(podman exec "$(container_of dcu2)" ls -A /data/accounts 2>/dev/null)
  [[ -n "$one" && "$one" == "$two" ]]
}

# For a failure: each container's state, health and last log lines.
show_containers() {
  local id
  for id in $(podman ps --all --quiet --filter "label=com.docker.compose.project=$project"); do
    podman inspect --format '{{.Name}}: {{.State.Status}} (exit {{.State.ExitCode}}, restarts {{.RestartCount}}), health {{.State.Health.Status}}{{range .State.Health.Log}}
    check exit {{.ExitCode}}: {{.Output}}{{end}}' "$id" 2>&1 | sed 's/^/  /' >&2
    podman logs --tail 5 "$id" 2>&1 | sed 's/^/    | /' >&2
  done
}

nothing_left_of_project() {
  [[ -z "$(podman ps --all --quiet)" && -z "$(podman volume ls --quiet)" ]] &&
    ! podman network ls --format '{{.Name}}' | grep -q "^$project"
}

# The simulation's settings for the next `up`: seed, account length in days, projects.
simulation_settings() {
  sed -i '/^SIM_SEED=/d;/^SIM_DAYS=/d;/^SIM_PROJECTS=/d' "$work/env"
  printf 'SIM_SEED=%s\nSIM_DAYS=%s\nSIM_PROJECTS=%s\n' "$1" "$2" "$3" >>"$work/env"
}

# Waits for the researchers container to finish and checks its exit code and summary.
researchers_pass() {
  local pass=$1 researchers=$2 code
  code=$(timeout 200 podman wait "$researchers" 2>/dev/null || echo timeout)
  podman logs "$researchers" >"$work/researchers-$pass.log" 2>&1
  sed 's/^/  | /' "$work/researchers-$pass.log" | tail -12 >&2
  [[ "$code" == 0 ]] || show_containers
  check "pass $pass: researchers exited 0 (got $code)" test "$code" = 0
  check "pass $pass: the summary reports no failed operation" \
    grep -q '^No operation failed\.' "$work/researchers-$pass.log"
  check "pass $pass: the ledger check passed for at least one account" \
    grep -Eq '^Ledger check passed for [1-9][0-9]* account' "$work/researchers-$pass.log"
}

# --- 3. Pass 1: the whole system from compose.yaml, the simulation to completion ------------

simulation_settings 1001 4-8 4
log "pass 1: docker-compose up"
up_started=$SECONDS
if ! timeout 240 "${compose[@]}" up --detach --no-build >>"$work/compose.log" 2>&1; then
  tail -30 "$work/compose.log" >&2
  show_containers
  check "pass 1: compose up" false
  printf '%d passed, %d failed\n' "$passed" "$failed"
  exit 1
fi
check "pass 1: compose up, services healthy in dependency order ($((SECONDS - up_started)) s)" true
researchers_pass 1 "$(container_of researchers)"
check "the registry (published port) lists both agencies and DCUs by their service names" \
  registry_lists_everyone
check "both DCUs see the same accounts in their shared volume" same_accounts_in_both_dcus

# --- 4. Pass 2: the simulation again, and a DCU crashes mid-run -----------------------------

# Longer accounts and slower spending, so the run is surely still going when the DCU dies: at
# pass 1's pace a project can spend its money within ten seconds, before the kill comes.
simulation_settings 2002 40-50 5
sed -i '/^SIM_PAUSE_MS=/d' "$work/env"
echo 'SIM_PAUSE_MS=300-600' >>"$work/env"
# The agencies' budget (in their volume) still holds pass 1's proposals: this run's must fit in
# its totals rather than make them up.
echo 'SIM_SHARED_AGENCY=1' >>"$work/env"
log "pass 2: the simulation again (docker-compose up researchers); dcu2 will crash"
timeout 120 "${compose[@]}" up --detach --no-build --no-deps --force-recreate researchers \
  >>"$work/compose.log" 2>&1 || log "compose up researchers failed"
researchers=$(container_of researchers)
dcu2=$(container_of dcu2)
# Mid-run: once accepted projects are adding students and spending.
for _ in $(seq 1 150); do
  podman logs "$researchers" 2>&1 | grep -q 'adds student' && break
  sleep 0.2
done
check "pass 2: the simulation is running when dcu2 is killed" \
  test "$(podman inspect --format '{{.State.Status}}' "$researchers")" = running
# The node process itself (under the container's init), as a crash would end it.
pid=$(podman top "$dcu2" hpid,comm 2>/dev/null | awk '$2 == "node" { print $1; exit }')
if [[ -n "$pid" ]]; then
  log "pass 2: killing dcu2's node process (host pid $pid) with SIGKILL"
  kill -KILL "$pid"
fi
check "pass 2: dcu2's node process found and killed" test -n "$pid"
researchers_pass 2 "$researchers"
log "pass 2: the simulation's client turned to another DCU $(grep -c 'trying another' \
  "$work/researchers-2.log" || true) time(s) after the crash"
check "pass 2: the restart policy brought dcu2 back, healthy" restarted_and_healthy "$dcu2"

# --- 5. Stop, take down, leave nothing ------------------------------------------------------

# SIGTERM stops each service gracefully: exit code 0, not 137 from a SIGKILL after 10 s.
stop_started=$(date +%s.%N)
timeout 120 "${compose[@]}" stop --timeout 10 >>"$work/compose.log" 2>&1
for service in registry agency1 agency2 dcu1 dcu2; do
  state=$(podman inspect --format '{{.State.Status}} {{.State.ExitCode}}' "$(container_of "$service")")
  finished=$(podman inspect --format '{{.State.FinishedAt}}' "$(container_of "$service")")
  finished=$(date -d "${finished% UTC}" +%s.%N 2>/dev/null || echo "$stop_started")
  log "$service exited $(awk -v a="$stop_started" -v b="$finished" 'BEGIN { printf "%.1f", b - a }') s after the stop began"
  check "$service stopped on SIGTERM with exit code 0 ($state)" test "$state" = "exited 0"
  # One that did not: its last lines tell what its shutdown was waiting for.
  [[ "$state" == "exited 0" ]] || podman logs --tail 25 "$(container_of "$service")" 2>&1 | sed 's/^/    | /' >&2
done
timeout 120 "${compose[@]}" down --volumes --remove-orphans --timeout 5 >>"$work/compose.log" 2>&1
check "compose down left no container, volume or project network" nothing_left_of_project

podman rmi --all --force >/dev/null 2>&1 || true
check "no image left in the test's store" test -z "$(podman images --all --quiet)"

log "image test: $passed passed, $failed failed in $((SECONDS - started_at)) s"
printf '%d passed, %d failed\n' "$passed" "$failed"
((failed == 0))
