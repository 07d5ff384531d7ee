# Stops the dockerd that a test started (tests/support/docker.rs writes its pid to
# $KISTE_TEST_DOCKERD_PIDFILE), by that pid only, and waits for it to exit. A dockerd the
# tests found running is not theirs and is left alone.
stop_test_dockerd() {
    local file=$1 pid
    [ -s "$file" ] || { rm -f "$file"; return 0; }
    pid=$(cat "$file")
    rm -f "$file"
    [[ $pid =~ ^[0-9]+$ ]] || return 0
    [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = dockerd ] || return 0
    kill -TERM "$pid" 2>/dev/null || return 0
    for _ in $(seq 150); do
        [ -e "/proc/$pid" ] || return 0
        sleep 0.2
    done
    echo "test.sh: dockerd $pid (started by the tests) did not stop in 30 s" >&2
}
