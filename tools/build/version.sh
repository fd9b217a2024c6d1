#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The project's version, for modinfo (Kbuild) and the Debian package
# (make deb): "0.N COMMIT", N the number of commits on the current branch
# (it only grows on main, so Debian orders the packages) and COMMIT what
# git describe --always --dirty says.  A tree without .git (the DKMS
# source that make deb packs) reads the VERSION file make deb wrote there.
#
#   version.sh PROJECT        prints "0.N COMMIT"
set -euo pipefail

project=${1:-.}
if [ -r "$project/VERSION" ]; then
	cat "$project/VERSION"
elif n=$(git -C "$project" rev-list --count HEAD 2>/dev/null); then
	echo "0.$n $(git -C "$project" describe --always --dirty --abbrev=12)"
else
	echo "0.0 unknown"
fi
