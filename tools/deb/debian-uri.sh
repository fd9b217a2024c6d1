#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The Debian archive URI this machine's apt already uses, read from
# /etc/apt/sources* (deb822 .sources or one-line .list) at run time, so that
# no file of the project names a mirror: the first archive URI, or with
# --security the first -security one (none: prints nothing).
#
#   debian-uri.sh [--security]
set -euo pipefail

uris=$( { cat /etc/apt/sources.list.d/*.sources 2>/dev/null |
	  sed -n 's/^URIs:[[:space:]]*//p' | tr ' ' '\n';
	  cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
	  sed -n 's/^deb[[:space:]]\+\(\[[^]]*\][[:space:]]\+\)\?\([^[:space:]]\+\).*/\2/p'; } |
	grep -v '^$' || true)
if [ "${1:-}" = --security ]; then
	grep -m1 security <<< "$uris" || true
	exit 0
fi
uri=$(grep -v security <<< "$uris" | grep -m1 -i debian || true)
[ -n "$uri" ] || { echo "$0: no Debian URI in /etc/apt/sources*" >&2; exit 1; }
echo "$uri"
