#!/usr/bin/env bash
# The tools the tests and the benchmark drive besides Docker and Node, from
# Debian's archive: Chromium (browser tests), promtool (from prometheus), the
# Alertmanager and rsyslog that tests and the benchmark start themselves,
# with private configurations on loopback, jq (the README's log recipes), nc,
# socat, and gcc (C helpers and load generators). One list, used by
# .ci/provision.sh and by the test run itself (tests/support/test-tools.ts).
#
#   bash .ci/test-tools.sh --missing   prints the packages of the tests' tools that are missing, one per line
#   bash .ci/test-tools.sh             installs what is missing of the tests' and the benchmark's
#                                      (root, apt-get); no system service starts
#
# Tools are looked up as commands (so the check works on any system);
# Chromium at CHROMIUM_PATH (default /usr/bin/chromium).
set -euo pipefail
export PATH="$PATH:/usr/sbin:/sbin"

# command (or absolute path) = the Debian package that brings it: what the
# tests need, then what only the benchmark does
TEST_TOOLS=(
  "${CHROMIUM_PATH:-/usr/bin/chromium}=chromium"
  "promtool=prometheus"
  "prometheus-alertmanager=prometheus-alertmanager"
  "jq=jq"
  "nc=netcat-openbsd"
  "socat=socat"
  "gcc=gcc"
)
BENCH_TOOLS=(
  "rsyslogd=rsyslog"
)

# The packages of the given entries whose tool is missing, one per line.
missing_packages() {
  local entry tool
  for entry in "$@"; do
    tool="${entry%=*}"
    if [[ "$tool" == /* ]]; then
      [[ -x "$tool" ]] && continue
    else
      command -v "$tool" >/dev/null 2>&1 && continue
    fi
    printf '%s\n' "${entry##*=}"
  done
}

if [[ "${1:-}" == "--missing" ]]; then
  missing_packages "${TEST_TOOLS[@]}"
  exit 0
fi

mapfile -t missing < <(missing_packages "${TEST_TOOLS[@]}" "${BENCH_TOOLS[@]}")
if ((${#missing[@]} == 0)); then
  exit 0
fi
if [[ "$(id -u)" != 0 ]] || ! command -v apt-get >/dev/null; then
  echo "test-tools: missing ${missing[*]}; installing needs root and apt-get (sudo bash .ci/test-tools.sh)" >&2
  exit 1
fi

# Their system services stay stopped: Debian's maintainer scripts ask
# /usr/sbin/policy-rc.d before starting one, and where the machine has none,
# one that refuses (exit 101) is in place for the length of the install.
policy=/usr/sbin/policy-rc.d
if [[ ! -e "$policy" ]]; then
  # Removed however the install ends (an interrupted one too): left behind, it would keep every service down.
  trap 'rm -f "$policy"' EXIT
  printf '#!/bin/sh\n# udp-time-service test tools: no service starts during the install\nexit 101\n' >"$policy"
  chmod 755 "$policy"
fi
echo "[test-tools] apt-get install ${missing[*]}" >&2
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
