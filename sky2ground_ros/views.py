"""View types shared by the model, the data loaders and the localizer."""

from __future__ import annotations

from enum import IntEnum


class ViewType(IntEnum):
    """Kind of camera a frame comes from; the integer is what tensors carry."""

    GROUND = 0
    AERIAL = 1
    SATELLITE = 2

    @classmethod
    def parse(cls, value: str | int | ViewType) -> ViewType:
        """Accept 'ground' / 'aerial' / 'satellite' (any case), an int, or a ViewType."""
        if isinstance(value, ViewType):
            return value
        if isinstance(value, int):
            return cls(value)
        try:
            return cls[value.strip().upper()]
        except KeyError:
            names = ", ".join(v.name.lower() for v in cls)
            raise ValueError(f"unknown view type {value!r}; expected one of {names}") from None
