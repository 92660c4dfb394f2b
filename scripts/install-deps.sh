#!/usr/bin/env bash
# Installs what ci-builder and its tests need on Debian 12, only what is missing:
# the engines (buildah; docker.io and podman for their adapters), mmdebstrap for base images,
# Debian's OCI registry and htpasswd for the tests, rpm to read Rocky images' package
# databases when scanning, aptly for the tests' pinned snapshot repositories, getfattr (attr) to read
# overlayfs's marks when a layer is written from a folder, and the npm dependencies.
set -euo pipefail
cd "$(dirname "$0")/.."

need_node="20.19.0"
if ! command -v node >/dev/null || [ "$(printf '%s\n%s\n' "$need_node" "$(node -p process.versions.node)" | sort -V | head -n1)" != "$need_node" ]; then
  echo "install-deps: Node.js >= $need_node is required (found: $(node --version 2>/dev/null || echo none))" >&2
  exit 2
fi

# command → Debian package
declare -A packages=(
  [buildah]=buildah
  [podman]=podman
  [mmdebstrap]=mmdebstrap
  [docker-registry]=docker-registry
  [dockerd]=docker.io
  [skopeo]=skopeo
  [htpasswd]=apache2-utils
  [newuidmap]=uidmap
  [fuse-overlayfs]=fuse-overlayfs
  [ansible-vault]=ansible-core
  [chromium]=chromium
  [rpm]=rpm
  [aptly]=aptly
  [getfattr]=attr
)
missing=()
for command in "${!packages[@]}"; do
  command -v "$command" >/dev/null || missing+=("${packages[$command]}")
done
# The render golden test compares with Debian's Jinja2.
/usr/bin/python3 -c 'import jinja2' 2>/dev/null || missing+=(python3-jinja2)
# kolla-build --save-dependency's file is compared with what Python's graphviz module writes.
/usr/bin/python3 -c 'import graphviz' 2>/dev/null || missing+=(python3-graphviz)
if [ "${#missing[@]}" -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  # On stderr: scripts/kolla-build runs this first, and its stdout is kolla-build's summary.
  npm ci --no-audit --no-fund >&2
fi
