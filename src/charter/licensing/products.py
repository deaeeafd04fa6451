"""Products and their licensable features: the vendor's licensing catalogue."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from charter.core import events
from charter.core.auth import Permission, Principal
from charter.core.errors import Conflict, Invalid, NotFound
from charter.core.ids import is_id, new_id
from charter.core.pagination import DEFAULT_LIMIT, Page, check_cursor, paginate_rows
from charter.db.unique import insert_unique
from charter.licensing.models import Product
from charter.licensing.schemas import ProductCreate


def product_row(db: Session, product_id: str, *, field: str | None = None) -> Product:
    """The product; :class:`NotFound`, or :class:`Invalid` naming ``field``, when unknown."""
    found = db.get(Product, product_id) if is_id(product_id, "prd") else None
    if found is None:
        if field is not None:
            raise Invalid.field(field, f"no product with id {product_id}")
        raise NotFound(f"product {product_id} not found")
    return found


def feature_keys(product: Product) -> list[str]:
    """The keys of a product's features, in the order they were given."""
    return [str(feature["key"]) for feature in product.features]


def create_product(db: Session, actor: Principal, *, data: ProductCreate) -> Product:
    """Create a product with its licensable features."""
    actor.require(Permission.PRODUCTS_MANAGE)
    conflict = f"a product with code {data.code} already exists"
    if db.scalar(select(Product.id).where(Product.code == data.code)) is not None:
        raise Conflict(conflict)
    product = Product(
        id=new_id("prd"),
        code=data.code,
        name=data.name,
        description=data.description,
        features=[feature.model_dump(mode="json") for feature in data.features],
    )
    insert_unique(db, product, conflict)
    events.append(
        db,
        actor,
        "product.created",
        product,
        code=product.code,
        name=product.name,
        features=feature_keys(product),
    )
    return product


def get_product(db: Session, actor: Principal, *, product_id: str) -> Product:
    """A product; the catalogue is open to everyone who reads licensing."""
    actor.require(Permission.LICENSES_READ)
    return product_row(db, product_id)


def list_products(
    db: Session, actor: Principal, *, cursor: str | None = None, limit: int = DEFAULT_LIMIT
) -> Page[dict[str, Any]]:
    """Products, oldest first."""
    actor.require(Permission.LICENSES_READ)
    check_cursor(cursor)
    query = select(*Product.__table__.columns)
    return paginate_rows(db, query, Product.id, cursor=cursor, limit=limit)
