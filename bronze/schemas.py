"""Spark schemas derived from the pydantic contracts (one definition, two runtimes)."""

from __future__ import annotations

import datetime as dt
import types
import typing
from decimal import Decimal

from pydantic import AwareDatetime, BaseModel
from pyspark.sql import types as T

from bronze.contracts import EVENT_MODELS, EventType

MONEY = T.DecimalType(18, 4)
RATE = T.DecimalType(38, 24)

_SCALARS: dict[type, T.DataType] = {
    str: T.StringType(),
    int: T.LongType(),
    float: T.DoubleType(),
    bool: T.BooleanType(),
    Decimal: MONEY,
    dt.datetime: T.TimestampType(),
    dt.date: T.DateType(),
}


def _base_type(annotation: object) -> type:
    """Strip Optional/Annotated wrappers down to the scalar Python type."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _base_type(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return _base_type(args[0])
    if annotation is AwareDatetime:
        return dt.datetime
    if isinstance(annotation, type):
        for scalar in (dt.datetime, dt.date, Decimal, bool, int, float, str):
            if issubclass(annotation, scalar):
                return scalar
    return str


def field_types(model: type[BaseModel]) -> dict[str, T.DataType]:
    """Typed Spark type of every contract field, in declaration order."""
    out: dict[str, T.DataType] = {}
    for name, info in model.model_fields.items():
        base = _base_type(info.annotation)
        if name == "rate_to_usd":
            out[name] = RATE
        else:
            out[name] = _SCALARS[base]
    return out


def spark_schema(model: type[BaseModel]) -> T.StructType:
    """Typed Spark schema of a contract."""
    return T.StructType(
        [
            T.StructField(name, dtype, nullable=not info.is_required())
            for (name, dtype), info in zip(
                field_types(model).items(), model.model_fields.values(), strict=True
            )
        ]
    )


def raw_schema(model: type[BaseModel]) -> T.StructType:
    """All-string schema used to parse payloads before typed, rule-checked casts."""
    return T.StructType([T.StructField(name, T.StringType()) for name in model.model_fields])


def event_schema(event_type: EventType) -> T.StructType:
    """Typed Spark schema of one event type."""
    return spark_schema(EVENT_MODELS[event_type])
