#!/usr/bin/env bash
# Build a local stand-in for the official node:24-bookworm-slim image with
# `docker import` (no container registry is reachable here), then check it.
#
# Usage: standin-image.sh [TAG [LABEL]]
#   TAG    default udp-time-service/node-standin:24
#   LABEL  value of the image label udp-time-service.standin (provision.sh
#          uses it to tell whether the image is current)
#
# Uses the `node` and `npm` found on PATH (provision.sh puts Node 24 first).
# The file system mimics the official image where the Dockerfiles can see it:
# node and npm under /usr/local, user node (1000:1000, /home/node), /bin/sh,
# a few coreutils, the CA bundle, and NODE_EXTRA_CA_CERTS set so that npm in a
# build stage trusts this machine's registry access.
set -euo pipefail

tag="${1:-udp-time-service/node-standin:24}"
label="${2:-$(node --version)}"

node_bin="$(readlink -f "$(command -v node)")"
npm_pkg="$(npm root -g)/npm"
[[ "$("$node_bin" --version)" == v24.* ]] || { echo "node on PATH is not v24" >&2; exit 1; }
[[ -f "$npm_pkg/bin/npm-cli.js" ]] || { echo "npm not found at $npm_pkg" >&2; exit 1; }

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
root="$work/rootfs"
mkdir -p "$root"

# Same merged-/usr layout as the host and Debian images (/bin -> usr/bin, ...),
# so library paths reported by ldd are valid inside the image as well.
for d in bin sbin lib lib64; do
  if [[ -L "/$d" ]]; then
    ln -s "$(readlink "/$d")" "$root/$d"
  fi
done
mkdir -p "$root"/usr/{bin,sbin,lib,lib64}

# Copy a file to the same path inside the image, resolving symlinks in the
# directory part but keeping the file name (e.g. libstdc++.so.6).
copy_in() {
  local dir
  dir="$(readlink -f "$(dirname "$1")")"
  mkdir -p "$root$dir"
  cp -L "$1" "$root$dir/$(basename "$1")"
}

# Copy every shared library ldd lists for a binary (incl. the loader).
copy_libs() {
  local lib
  for lib in $(ldd "$1" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }'); do
    copy_in "$lib"
  done
}

# Node and npm where the official image has them.
mkdir -p "$root/usr/local/bin" "$root/usr/local/lib/node_modules"
cp "$node_bin" "$root/usr/local/bin/node"
copy_libs "$node_bin"
cp -a "$npm_pkg" "$root/usr/local/lib/node_modules/npm"
ln -s ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/local/bin/npm"
ln -s ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/local/bin/npx"

# /bin/sh (dash) for shell-form RUN/CMD, coreutils the Dockerfiles may use,
# and env for npm's `#!/usr/bin/env node` shebang.
sh_real="$(readlink -f /bin/sh)"
copy_in "$sh_real"
copy_libs "$sh_real"
ln -sf "$(basename "$sh_real")" "$root$(dirname "$sh_real")/sh"
for tool in rm mkdir cp ls cat chown chmod env; do
  bin="$(readlink -f "$(command -v "$tool")")"
  copy_in "$bin"
  copy_libs "$bin"
done

# Libraries glibc may dlopen for name resolution (built into libc on newer
# glibc; the stubs are copied when present).
libc_dir="$(dirname "$(readlink -f "$(ldd "$node_bin" | awk '$1 == "libc.so.6" { print $3 }')")")"
for lib in libnss_dns.so.2 libnss_files.so.2 libresolv.so.2; do
  if [[ -e "$libc_dir/$lib" ]]; then
    copy_in "$libc_dir/$lib"
  fi
done

# /etc: CA bundle, users, name service order.
mkdir -p "$root/etc/ssl/certs"
cp -L /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
cat >"$root/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
node:x:1000:1000::/home/node:/bin/sh
EOF
cat >"$root/etc/group" <<'EOF'
root:x:0:
node:x:1000:
EOF
echo 'hosts: files dns' >"$root/etc/nsswitch.conf"

mkdir -p "$root/root" "$root/home/node" "$root/tmp"
chmod 700 "$root/root"
chown 1000:1000 "$root/home/node"
chmod 1777 "$root/tmp"

old_id="$(docker image inspect -f '{{.Id}}' "$tag" 2>/dev/null || true)"
tar --numeric-owner -C "$root" -c . | docker import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt' \
  --change "LABEL udp-time-service.standin=\"$label\"" \
  --change 'CMD ["node"]' \
  - "$tag" >/dev/null
echo "built $tag ($(du -sh "$root" | cut -f1) unpacked)" >&2

# --- checks -----------------------------------------------------------------
# Run a check; on failure print its output and discard the image.
check() {
  local what="$1"
  shift
  local out
  if ! out="$("$@" 2>&1)"; then
    printf 'stand-in check FAILED: %s\n%s\n' "$what" "$out" >&2
    # Remove the image so that provision.sh does not take it as current.
    docker image rm "$tag" >/dev/null
    exit 1
  fi
  printf 'stand-in check ok: %-32s %s\n' "$what" "$(tail -n 1 <<<"$out")" >&2
}

check "node version" docker run --rm "$tag" node -e 'console.log(process.version)'
check "npm version" docker run --rm "$tag" npm --version
# shellcheck disable=SC2016 # $NODE_EXTRA_CA_CERTS is for the container's sh
check "shell form + coreutils" docker run --rm "$tag" \
  sh -c 'mkdir -p /tmp/a && cp /etc/group /tmp/a/g && chmod 600 /tmp/a/g && ls /tmp/a >/dev/null && rm -rf /tmp/a && env >/dev/null && [ -n "$NODE_EXTRA_CA_CERTS" ] && echo sh-ok'
check "dns lookup as user node" docker run --rm --user node "$tag" \
  node -e "require('dns').lookup('localhost', (e, a) => { if (e) throw e; console.log(a) })"

# A BuildKit build FROM the local image (no pull), with registry access from
# a RUN step as `npm ci` needs, and npm removed as a runtime stage might.
cat >"$work/Dockerfile" <<'EOF'
ARG NODE_IMAGE=node:24-bookworm-slim
FROM ${NODE_IMAGE}
RUN npm view zod version
RUN rm -rf /usr/local/lib/node_modules/npm /usr/local/bin/npm /usr/local/bin/npx
USER node
WORKDIR /home/node
RUN node -e "require('fs').writeFileSync('ok', 'ok')" && cat ok
EOF
check "buildx build FROM local image" docker buildx build --no-cache --progress=plain \
  --build-arg "NODE_IMAGE=$tag" --output type=cacheonly "$work"

# The previous stand-in is now untagged; drop it unless images still build on it.
if [[ -n "$old_id" && "$old_id" != "$(docker image inspect -f '{{.Id}}' "$tag")" ]]; then
  docker image rm "$old_id" >/dev/null 2>&1 || true
fi
