#!/usr/bin/env bash
# bench-answer.sh PORT CMD…: runs CMD (a detached `run -p 127.0.0.1:PORT:80 … httpd`), then
# asks http://127.0.0.1:PORT/ until an HTTP status line comes back, so that the time of the
# whole script is "until it answers" (issue 17). A published port may accept before the
# server in the container listens (a userland proxy), so only a status line counts. Gives
# up after 10 s with exit 1. Uses bash's /dev/tcp: no extra process per attempt.
set -u
# A forwarder that accepts before the server listens closes the connection when its own
# connect is refused; printf writes the request in two writes, and the second one then
# gets EPIPE. Ignored, so that the attempt fails and the loop tries again instead of
# SIGPIPE ending the script.
trap '' PIPE
port=$1
shift
"$@" >/dev/null || exit 1
SECONDS=0
while ((SECONDS < 10)); do
  if { exec 3<>"/dev/tcp/127.0.0.1/$port"; } 2>/dev/null; then
    printf 'GET / HTTP/1.0\r\n\r\n' >&3 2>/dev/null
    line=""
    IFS= read -r -t 2 line <&3 2>/dev/null
    exec 3>&-
    [[ $line == HTTP/* ]] && exit 0
  fi
done
echo "bench-answer: nothing answered on 127.0.0.1:$port" >&2
exit 1
