#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# A private apt configuration in DIR for other Debian suites (trixie, sid,
# bookworm-backports, their -security, their deb-src), made from the Debian
# mirror this machine is already configured with: the repository names no
# host.  apt-get download / source with it fetch other suites' packages
# (linux-source, linux-headers, linux-image, qemu's source) without touching
# the machine's own apt state; the machine's package set is never changed.
#
#   debian-apt.sh DIR SUITE...   prepare DIR/apt.conf for the SUITEs and
#                                update its lists (again after a day, or when
#                                the SUITEs change)
#   debian-apt.sh --uri          print the machine's Debian archive URI
#   debian-apt.sh --security-uri print its security archive URI (or nothing)
#
# A SUITE is "NAME" (binary packages) or "src:NAME" (source packages);
# NAME-security comes from the security archive.  Then:
#   APT_CONFIG=DIR/apt.conf apt-get download|source ...
set -euo pipefail

# Every archive URI in the machine's sources, in either the deb822 (.sources)
# or the one-line (.list) format.
uris() {
	{ cat /etc/apt/sources.list.d/*.sources 2>/dev/null |
	  sed -n 's/^URIs:[[:space:]]*//p' | tr ' ' '\n'
	  cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
	  sed -n 's/^deb\(-src\)\?[[:space:]]\+\(\[[^]]*\][[:space:]]\+\)\?\([^[:space:]]\+\).*/\3/p'
	} | grep -v '^$' | grep '/debian' || true
}

# The first Debian archive URI (not -security), and the security one.
uri=$(uris | grep -v security | head -n1)
suri=$(uris | grep security | head -n1)
case ${1:-} in
--uri) [ -n "$uri" ] && echo "$uri"; exit ;;
--security-uri) [ -n "$suri" ] && echo "$suri"; exit 0 ;;
esac

[ $# -ge 2 ] || { echo "usage: $0 DIR SUITE... | --uri | --security-uri" >&2; exit 2; }
[ -n "$uri" ] || { echo "$0: no Debian URI in /etc/apt/sources*" >&2; exit 1; }
mkdir -p "$1"
dir=$(cd "$1" && pwd)
shift
mkdir -p "$dir"/{lists/partial,archives/partial,sources.list.d,prefs.d}

list=
for s in "$@"; do
	type=deb name=$s
	case $s in src:*) type=deb-src name=${s#src:} ;; esac
	base=$uri
	case $name in
	*-security)
		# The security archive is a separate tree on the same mirrors.
		base=${suri:-${uri%/debian*}/debian-security} ;;
	esac
	list+="$type [arch=amd64] $base $name main"$'\n'
done

if [ "$(cat "$dir/sources.list" 2>/dev/null)" != "${list%$'\n'}" ]; then
	printf '%s' "$list" > "$dir/sources.list"
	rm -f "$dir/lists/.updated"
fi
cat > "$dir/apt.conf" <<EOT
Dir::Etc::SourceList "$dir/sources.list";
Dir::Etc::SourceParts "$dir/sources.list.d";
Dir::Etc::Preferences "$dir/prefs";
Dir::Etc::PreferencesParts "$dir/prefs.d";
Dir::State::Lists "$dir/lists";
Dir::Cache "$dir";
Dir::Cache::archives "$dir/archives";
Dir::State::status "/var/lib/dpkg/status";
APT::Architecture "amd64";
APT::Architectures { "amd64"; };
Acquire::Languages "none";
APT::Sandbox::User "root";
EOT
touch "$dir/prefs"
stamp=$dir/lists/.updated
if [ ! -e "$stamp" ] || [ -n "$(find "$stamp" -mmin +1440)" ]; then
	echo "  APT     update ($*)"
	APT_CONFIG=$dir/apt.conf apt-get update -qq
	touch "$stamp"
fi
