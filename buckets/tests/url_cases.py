from __future__ import annotations

from console.tests.matrix import Case

CASES = [
    Case("buckets:list", "viewer"),
]
