# shellcheck shell=bash disable=SC2034  # variables here are used by the scripts sourcing this
# Shared helpers for scripts/install-deps and scripts/stack. Source it; it defines functions and
# OTP_REPO / KAFKA_* variables and changes no shell options.

OTP_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)

# The pinned Kafka version has one home: <kafka.version> in scripts/kafka/pom.xml.
KAFKA_POM="$OTP_REPO/scripts/kafka/pom.xml"
KAFKA_LOG4J_CONFIG="$OTP_REPO/scripts/kafka/log4j2.properties"
KAFKA_VERSION=$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$KAFKA_POM" | head -n 1)
# Jars are shared by every stack on the machine (dev and test), keyed by version.
KAFKA_HOME_DIR="$OTP_REPO/.state/kafka/$KAFKA_VERSION"
KAFKA_LIBS_DIR="$KAFKA_HOME_DIR/libs"

# Messages carry the name of the script that prints them.
OTP_SCRIPT_NAME=${OTP_SCRIPT_NAME:-$(basename "$0")}

say() { printf '%s: %s\n' "$OTP_SCRIPT_NAME" "$*"; }
warn() { printf '%s: warning: %s\n' "$OTP_SCRIPT_NAME" "$*" >&2; }
die() {
  printf '%s: %s\n' "$OTP_SCRIPT_NAME" "$*" >&2
  exit 1
}

# Monotonic-enough seconds with a fraction, for "took N.N s" messages.
now() { date +%s.%N; }
elapsed_since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

# Prints the last lines of a log file to stderr, framed, for error messages.
show_log_tail() {
  local file=$1 lines=${2:-20}
  if [[ -s $file ]]; then
    printf -- '----- last %d lines of %s -----\n' "$lines" "$file" >&2
    tail -n "$lines" "$file" >&2
    printf -- '-----\n' >&2
  fi
}

# Runs a command as root: directly when we are root, else through sudo.
as_root() {
  if [[ $EUID -eq 0 ]]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo "$@"
  else
    die "need root for: $* (run as root or install sudo)"
  fi
}

# The sha256 of the POM that produced a jar folder; a changed POM means re-resolving.
kafka_pom_hash() { sha256sum "$KAFKA_POM" | cut -d' ' -f1; }

# True when the jars for the pinned version were resolved completely by the current POM.
kafka_jars_present() {
  [[ -f $KAFKA_LIBS_DIR/kafka_2.13-$KAFKA_VERSION.jar ]] &&
    [[ -f $KAFKA_LIBS_DIR/.pom.sha256 ]] &&
    [[ $(<"$KAFKA_LIBS_DIR/.pom.sha256") == "$(kafka_pom_hash)" ]]
}
