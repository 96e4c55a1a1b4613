"""How RESULTS.md writes a figure, a ratio, a verdict and a table; every section uses these."""

import math
from collections.abc import Sequence


def figure(value: float, digits: int = 2) -> str:
    """`1,234`, `12.35`, `n/a`: whole numbers past 100, `digits` decimals below."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:,.{digits}f}"


def ratio(a: float, b: float) -> float:
    return a / b if b else math.nan


def met(ok: bool | None) -> str:
    return "n/a" if ok is None else ("yes" if ok else "**no**")


def table(head: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    out = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    out += ["| " + " | ".join(row) + " |" for row in rows]
    return [*out, ""]
