"""Page pagination of API lists: ?page=&per_page=, answered with meta {page, per_page,
total, pages}."""

from __future__ import annotations

import sqlalchemy as sa

from sharehub.extensions import db


def page_meta(page: int, per_page: int, total: int) -> dict:
    return {
        "page": page,
        "per_page": per_page,
        "total": total,
        "pages": max(1, -(-total // per_page)),
    }


def paginate(query, page: int, per_page: int, scalars: bool = False):
    """(total, rows of the page) for a select()."""
    total = db.session.scalar(
        sa.select(sa.func.count()).select_from(query.order_by(None).subquery())
    )
    page_query = query.limit(per_page).offset((page - 1) * per_page)
    if scalars:
        return total, db.session.scalars(page_query).all()
    return total, db.session.execute(page_query).all()


def page_of(query, page: int, per_page: int) -> dict:
    total, items = paginate(query, page, per_page, scalars=True)
    return {"items": items, "meta": page_meta(page, per_page, total)}
