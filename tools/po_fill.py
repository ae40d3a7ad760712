"""Fills translations into a catalogue from a JSON file: ``python tools/po_fill.py id tr.json``.

``tr.json`` maps English msgids to their translation (``{"Forecast": "Prakiraan"}``). Run it after
``bash tools/i18n.sh`` has extracted the msgids; an msgid not in the catalogue is reported and
skipped (extract first), an existing translation is replaced. Written for several people adding
pages at once: each keeps its own JSON and fills it under one lock
(``flock /tmp/msc-i18n.lock sh -c 'bash tools/i18n.sh && python tools/po_fill.py id tr.json'``).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po

LOCALE = Path(__file__).resolve().parents[1] / "webui" / "locale"


def fill(language: str, translations: dict[str, str]) -> list[str]:
    """Writes ``translations`` into ``language``'s catalogue; returns the msgids it did not find."""
    path = LOCALE / language / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as f:
        catalog = read_po(f, locale=language)
    missing = []
    for msgid, msgstr in translations.items():
        message = catalog.get(msgid)
        if message is None:
            missing.append(msgid)
            continue
        message.string = msgstr
        message.flags.discard("fuzzy")
    with path.open("wb") as f:
        write_po(f, catalog, width=76, sort_output=True, omit_header=False, ignore_obsolete=True)
    return missing


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    language, source = argv
    missing = fill(language, json.loads(Path(source).read_text(encoding="utf-8")))
    for msgid in missing:
        print(f"not in the catalogue (run tools/i18n.sh first): {msgid!r}", file=sys.stderr)
    return 1 if missing else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
