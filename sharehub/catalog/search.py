"""Text search over listings that serves Chinese substrings on both databases.

Chinese words are mostly two unspaced characters, which trigram indexes cannot serve.
Every listing keeps `search_bigrams`: the distinct character bigrams of its normalised
text, space-separated. A query's bigrams must all be present (an indexed lookup: a GIN
index over the bigram array on PostgreSQL, an FTS5 table on SQLite); a substring check on
`search_text` then removes the rare false positives. One-character queries use the
substring check alone.
"""

from __future__ import annotations

import re
import unicodedata

import sqlalchemy as sa

from sharehub.catalog.models import Listing

# Objects created by migrations that the models do not describe.
SCHEMA_OBJECTS = {
    "listing_fts",
    "listing_fts_data",
    "listing_fts_idx",
    "listing_fts_docsize",
    "listing_fts_config",
    "listing_fts_content",
    "ix_listing_bigrams",
}
_RUN = re.compile(r"\w+", re.UNICODE)


def normalize(text: str) -> str:
    return unicodedata.normalize("NFKC", text or "").lower()


def bigrams(text: str) -> list[str]:
    """Distinct character bigrams of each word-character run, in order of appearance."""
    seen: dict[str, None] = {}
    for run in _RUN.findall(normalize(text)):
        run = run.replace("_", "")
        for i in range(len(run) - 1):
            seen.setdefault(run[i : i + 2], None)
    return list(seen)


def index_fields(listing: Listing, extra: list[str] | None = None) -> None:
    """Refresh the search columns from the listing's texts (call on every write)."""
    parts = [
        listing.name,
        listing.name_en,
        listing.description,
        listing.description_en,
        listing.model,
        listing.manufacturer,
        listing.main_indicators,
        listing.test_fields,
        listing.instrument_number,
        listing.expert_name,
        listing.expert_title,
        listing.expert_fields,
        listing.qualifications,
        listing.data_format,
        listing.licence,
        listing.category_code or "",
        *(extra or []),
    ]
    text = " \n".join(normalize(p) for p in parts if p)
    listing.search_text = text
    listing.search_bigrams = " ".join(bigrams(text))


def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def text_condition(query: str, dialect: str):
    """A WHERE clause matching listings whose text contains every word of the query."""
    words = [w for w in normalize(query).split() if w]
    conditions = []
    for word in words:
        grams = bigrams(word)
        like = Listing.search_text.like(f"%{_escape_like(word)}%", escape="\\")
        if not grams:
            conditions.append(like)
            continue
        if dialect == "postgresql":
            indexed = sa.func.string_to_array(Listing.search_bigrams, " ").op("@>")(
                sa.cast(sa.literal(grams, sa.ARRAY(sa.Text)), sa.ARRAY(sa.Text))
            )
        else:
            match = " ".join(f'"{g}"' for g in grams)
            indexed = Listing.id.in_(
                sa.select(sa.column("rowid"))
                .select_from(sa.table("listing_fts"))
                .where(sa.literal_column("listing_fts").op("MATCH")(sa.literal(match)))
            )
        # A two-character word is exactly its one bigram: the index answer needs no recheck.
        conditions.append(indexed if len(word) == 2 else sa.and_(indexed, like))
    return sa.and_(*conditions) if conditions else sa.true()
