#!/usr/bin/env bash
# What a CI job does with kiste, non-interactive, every exit code checked: build an app
# image, run it detached with a published port, wait until it answers, run a client
# container against it, collect the logs, tear everything down. Run by tests/ci_flow.rs.
# Needs: KISTE (the binary), KISTE_ROOT/KISTE_RUNROOT (a store with the busybox image),
# PORT (a free host port), OUT (a file for what the test checks afterwards).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
k() { "$KISTE" "$@"; }
step() { printf '== %s\n' "$*" >&2; }
fail() { echo "ci-flow: $*" >&2; exit 1; }

step "build"
k build -q -t ci-app:1 "$here/app" > /dev/null
k image exists ci-app:1 || fail "the image was not stored"

step "run the service"
id=$(k run -d --name ci-web -p "127.0.0.1:$PORT:8080" ci-app:1)
[[ $id =~ ^[0-9a-f]{64}$ ]] || fail "run -d printed '$id', not an id"
echo "ID=$id" >> "$OUT"
echo "PID=$(k inspect --format '{{.State.Pid}}' ci-web)" >> "$OUT"
[ "$(k ps -q --filter name=ci-web --no-trunc)" = "$id" ] || fail "ps does not list it"

step "wait until it answers"
deadline=$((SECONDS + 20))
until body=$(exec 3<>"/dev/tcp/127.0.0.1/$PORT" && printf 'GET / HTTP/1.0\r\n\r\n' >&3 && cat <&3) \
    && [[ $body == *ci-ok* ]]; do
  ((SECONDS < deadline)) || fail "the service did not answer on port $PORT"
  sleep 0.1
done

step "run a client container against it"
answer=$(k run --rm --network host busybox sh -c \
  "printf 'GET / HTTP/1.0\r\n\r\n' | nc -w 3 127.0.0.1 $PORT")
[[ $answer == *"200 OK"* && $answer == *ci-ok* ]] || fail "the client got: $answer"
# A failing step's exit code reaches the script unchanged.
set +e
k run --rm busybox sh -c 'exit 3'
code=$?
set -e
[ "$code" = 3 ] || fail "a client exiting 3 gave $code"

step "collect logs"
logs=$(k logs ci-web 2>&1)
[[ $logs == *listening* ]] || fail "no start line in the logs: $logs"
[[ $logs == *"GET /"* || $logs == *"/index.html"* || $logs == *"response:200"* ]] \
  || fail "no request in the logs: $logs"
echo "LOGS_LINES=$(printf '%s\n' "$logs" | wc -l)" >> "$OUT"

step "tear down"
[ "$(k stop ci-web)" = ci-web ] || fail "stop did not print the name"
[ "$(k inspect --format '{{.State.ExitCode}}' ci-web)" = 0 ] || fail "the service did not exit 0"
k rm ci-web > /dev/null
k rmi ci-app:1 > /dev/null
k container prune -f > /dev/null
k image prune -f > /dev/null
[ -z "$(k ps -aq)" ] || fail "containers are left: $(k ps -a)"
! k container exists ci-web || fail "ci-web still exists"
echo "DONE=1" >> "$OUT"
