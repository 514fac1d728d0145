#!/usr/bin/env bash
# Tiny restart supervisor used by scripts/stack for the services:
#
#   supervise.sh <name> <service pidfile> <log file> -- <command> [args...]
#
# Runs the command with stdout and stderr appended to the log file and its pid in the pidfile.
# When it exits non-zero (or dies from a signal) it is started again after 1 s; when it exits 0 the
# supervisor exits too. SIGTERM/SIGINT/SIGHUP end the supervisor only, leaving the service running:
# `scripts/stack down` stops the supervisor first and then the service itself (SIGTERM, then
# SIGKILL after 10 s), so that a service's own clean shutdown is never raced by a restart.
set -uo pipefail

name=$1 pidfile=$2 log=$3
shift 3
[[ ${1:-} == -- ]] && shift
(($#)) || {
  echo "supervise.sh: no command for $name" >&2
  exit 2
}

note() { printf '[%s] stack-supervisor: %s %s\n' "$(date '+%F %T')" "$name" "$*" >>"$log"; }

trap 'note "supervisor stopping (service left to scripts/stack down)"; exit 0' TERM INT HUP

restarts=0
while true; do
  "$@" >>"$log" 2>&1 </dev/null &
  child=$!
  echo "$child" >"$pidfile"
  if ((restarts)); then note "started pid $child (restart $restarts)"; else note "started pid $child"; fi
  # `wait` on a background child returns at once when a trapped signal arrives.
  wait "$child"
  rc=$?
  if ((rc == 0)); then
    note "exited 0; not restarting"
    rm -f "$pidfile"
    exit 0
  fi
  note "exited with status $rc; restarting in 1 s"
  restarts=$((restarts + 1))
  sleep 1
done
