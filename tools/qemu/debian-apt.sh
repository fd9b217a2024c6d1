#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The private apt configuration make qemu uses (sid's source packages,
# bookworm-backports' meson): tools/build/debian-apt.sh with those suites,
# made from the Debian mirror this machine is already configured with.  The
# machine's own package set is never touched.
#
#   debian-apt.sh DIR          prepare DIR/apt.conf and update its lists
# then: APT_CONFIG=DIR/apt.conf apt-get source|download ...
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
exec "$here/../build/debian-apt.sh" "$1" src:sid bookworm-backports
