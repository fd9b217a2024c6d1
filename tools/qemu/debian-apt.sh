#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# A private apt configuration in $1 for other Debian suites (sid's source
# packages, bookworm-backports' meson), made from the Debian mirror this
# machine is already configured with: the repository names no host.  The
# machine's own package set is never touched.
#
#   debian-apt.sh DIR          prepare DIR/apt.conf and update its lists
# then: APT_CONFIG=DIR/apt.conf apt-get source|download ...
set -euo pipefail

dir=$1
mkdir -p "$dir"/{lists/partial,archives/partial,sources.list.d,prefs.d}

# The first Debian archive URI (not -security) in the machine's sources,
# in either the deb822 (.sources) or the one-line (.list) format.
uri=$( { cat /etc/apt/sources.list.d/*.sources 2>/dev/null |
	 sed -n 's/^URIs:[[:space:]]*//p' | tr ' ' '\n';
	 cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
	 sed -n 's/^deb[[:space:]]\+\(\[[^]]*\][[:space:]]\+\)\?\([^[:space:]]\+\).*/\2/p'; } |
       grep -v -e security -e '^$' | head -n1 || true)
[ -n "$uri" ] || { echo "$0: no Debian URI in /etc/apt/sources*" >&2; exit 1; }

cat > "$dir/sources.list" <<EOT
deb-src $uri sid main
deb $uri bookworm-backports main
EOT
cat > "$dir/apt.conf" <<EOT
Dir::Etc::SourceList "$dir/sources.list";
Dir::Etc::SourceParts "$dir/sources.list.d";
Dir::Etc::Preferences "$dir/prefs";
Dir::Etc::PreferencesParts "$dir/prefs.d";
Dir::State::Lists "$dir/lists";
Dir::Cache "$dir";
Dir::Cache::archives "$dir/archives";
Dir::State::status "/var/lib/dpkg/status";
Acquire::Languages "none";
APT::Sandbox::User "root";
EOT
touch "$dir/prefs"
stamp=$dir/lists/.updated
if [ ! -e "$stamp" ] || [ -n "$(find "$stamp" -mmin +1440)" ]; then
	echo "  APT     update (sid deb-src, bookworm-backports)"
	APT_CONFIG=$dir/apt.conf apt-get update -qq
	touch "$stamp"
fi
