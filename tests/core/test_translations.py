"""The Chinese catalogue covers every message and keeps every placeholder."""

import re
from pathlib import Path

from babel.messages.pofile import read_po

PO = Path(__file__).resolve().parents[2] / "translations/zh_Hans_CN/LC_MESSAGES/messages.po"
PLACEHOLDER = re.compile(r"%\(\w+\)s")


def test_every_message_is_translated_with_the_same_placeholders():
    with PO.open("rb") as handle:
        catalog = read_po(handle)
    problems = []
    for message in catalog:
        if not message.id:
            continue
        if not message.string or message.fuzzy:
            problems.append(("untranslated", message.id))
        elif set(PLACEHOLDER.findall(message.id)) != set(PLACEHOLDER.findall(message.string)):
            problems.append(("placeholders", message.id))
    assert problems == []
