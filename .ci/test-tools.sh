#!/usr/bin/env bash
# The tools the tests and the benchmark drive besides Docker and Node, from
# Debian's archive: Chromium (browser tests), promtool (from prometheus), the
# Alertmanager and rsyslog that tests and the benchmark start themselves,
# with private configurations on loopback, jq (the README's log recipes), nc,
# socat, and gcc (C helpers and load generators). One list, used by
# .ci/provision.sh and by the test run itself (tests/support/test-tools.ts).
#
#   bash .ci/test-tools.sh --missing   prints the packages whose tool is missing, one per line
#   bash .ci/test-tools.sh             installs those (root, apt-get); no system service starts
#
# Tools are looked up as commands (so the check works on any system);
# Chromium at CHROMIUM_PATH (default /usr/bin/chromium).
set -euo pipefail
export PATH="$PATH:/usr/sbin:/sbin"

# command (or absolute path) = the Debian package that brings it
TOOLS=(
  "${CHROMIUM_PATH:-/usr/bin/chromium}=chromium"
  "promtool=prometheus"
  "prometheus-alertmanager=prometheus-alertmanager"
  "rsyslogd=rsyslog"
  "jq=jq"
  "nc=netcat-openbsd"
  "socat=socat"
  "gcc=gcc"
)

missing_packages() {
  local entry tool
  for entry in "${TOOLS[@]}"; do
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
  missing_packages
  exit 0
fi

mapfile -t missing < <(missing_packages)
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
own_policy=
if [[ ! -e "$policy" ]]; then
  printf '#!/bin/sh\n# udp-time-service test tools: no service starts during the install\nexit 101\n' >"$policy"
  chmod 755 "$policy"
  own_policy=1
fi
status=0
{
  echo "[test-tools] apt-get install ${missing[*]}" >&2
  apt-get update -qq &&
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
} || status=$?
if [[ -n "$own_policy" ]]; then
  rm -f "$policy"
fi
exit "$status"
