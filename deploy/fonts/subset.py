"""Makes static/fonts/: Noto Sans CJK SC (SIL Open Font License 1.1) cut down to the
characters of GB 2312, Latin, punctuation and every character the project's own files use,
so invoice PDFs print Chinese on any machine, with or without system CJK fonts.

Run on a machine with Debian's fonts-noto-cjk:  .venv/bin/python deploy/fonts/subset.py
"""

from __future__ import annotations

from pathlib import Path

from fontTools import subset
from fontTools.ttLib import TTCollection

ROOT = Path(__file__).resolve().parents[2]
SOURCE = Path("/usr/share/fonts/opentype/noto")
SC_INDEX = 2  # Noto Sans CJK SC inside the collection


def characters() -> set[str]:
    chars = {chr(c) for c in range(0x20, 0x250)}
    chars |= {chr(c) for c in range(0x2000, 0x2070)}  # general punctuation
    chars |= {chr(c) for c in range(0x2100, 0x2200)}  # letterlike, number forms, arrows
    chars |= {chr(c) for c in range(0x2460, 0x24FF)}  # circled numbers
    chars |= {chr(c) for c in range(0x3000, 0x3040)}  # CJK symbols and punctuation
    chars |= {chr(c) for c in range(0xFF00, 0xFFF0)}  # full-width forms
    for hi in range(0xA1, 0xF8):
        for lo in range(0xA1, 0xFF):
            try:
                chars.add(bytes([hi, lo]).decode("gb2312"))
            except UnicodeDecodeError:
                pass
    for pattern in ("sharehub/**/*.py", "templates/**/*.html", "translations/**/*.po"):
        for path in ROOT.glob(pattern):
            chars |= set(path.read_text(encoding="utf-8"))
    return {c for c in chars if c.isprintable() or c == " "}


def main() -> None:
    text = "".join(sorted(characters()))
    for weight in ("Regular", "Bold"):
        collection = TTCollection(str(SOURCE / f"NotoSansCJK-{weight}.ttc"))
        font = collection.fonts[SC_INDEX]
        options = subset.Options()
        options.layout_features = ["*"]
        options.name_IDs = ["*"]
        options.notdef_outline = True
        subsetter = subset.Subsetter(options)
        subsetter.populate(text=text)
        subsetter.subset(font)
        out = ROOT / "static" / "fonts" / f"NotoSansSC-{weight}.subset.otf"
        font.save(str(out))
        print(out, out.stat().st_size)


if __name__ == "__main__":
    main()
