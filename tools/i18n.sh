#!/usr/bin/env bash
# Re-extracts the people pages' messages into webui/locale/messages.pot and merges them into the
# Indonesian and English catalogues (translate the new entries in the .po files, then commit all
# three). Catalogues are compiled in memory when the app starts (webui/i18n.py): no .mo to build.
set -euo pipefail
cd "$(dirname "$0")/.."
pybabel extract -F webui/babel.cfg --no-default-keywords -k _ -k N_ -k gettext:2 -k ngettext:1,2 \
  --project "MSC platform" --copyright-holder "MSC platform" --no-location --sort-output \
  -o webui/locale/messages.pot .
for lang in id en; do
  po="webui/locale/$lang/LC_MESSAGES/messages.po"
  if [ -f "$po" ]; then
    pybabel update -i webui/locale/messages.pot -d webui/locale -l "$lang" --no-fuzzy-matching --ignore-obsolete
  else
    pybabel init -i webui/locale/messages.pot -d webui/locale -l "$lang"
  fi
done
