#!/bin/sh
# PDF reports are laid out by WeasyPrint, which needs Pango and a font from the system.
# Installs them with apt-get when missing and we are allowed to; otherwise says what to install.
set -e
need=""
ldconfig -p 2>/dev/null | grep -q 'libpango-1.0.so.0' || need="$need libpango-1.0-0"
ldconfig -p 2>/dev/null | grep -q 'libpangoft2-1.0.so.0' || need="$need libpangoft2-1.0-0"
fc-list 2>/dev/null | grep -qi 'dejavu' || [ -d /usr/share/fonts/truetype/dejavu ] || need="$need fonts-dejavu-core"
[ -z "$need" ] && exit 0
echo "auditbook: PDF reports need:$need"
if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $need >/dev/null
  echo "auditbook: installed$need"
elif command -v apt-get >/dev/null 2>&1 && command -v sudo >/dev/null 2>&1; then
  sudo apt-get update -q >/dev/null && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -q $need >/dev/null
else
  echo "auditbook: install them with your system's package manager (Debian/Ubuntu: apt-get install$need)"
  exit 1
fi
