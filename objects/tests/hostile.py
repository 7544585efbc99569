"""Object keys that break careless code: each must be listed, opened, downloaded,
renamed and deleted through the console, and never reach a page as markup."""

from __future__ import annotations

SCRIPT = "<script>alert(1)</script>"

KEYS = [
    "h/with space.txt",
    "h/100%.txt",
    "h/%2F%41 encoded-looking",
    "h/a+b.txt",
    "h/hash#tag.txt",
    "h/what?.txt",
    "h/a&b=c.txt",
    "h/quote\"s'.txt",
    "h/back\\slash.txt",
    "h/中文文件.txt",
    "h/emoji😀.txt",
    "h/rtl\u202egnp.exe",  # a right-to-left override: reads as "rtlexe.png"
    f"h/{SCRIPT}",
    "h/../x",
    "h/a//b",
    "/leading",
    "h/" + "k" * 1022,  # 1024 bytes
    "h/dir-with-content/",  # ends in "/" yet holds bytes
]


def body_for(key: str) -> bytes:
    return ("content of " + key).encode()


def renamed(key: str) -> str:
    """A different key of at most 1024 bytes, keeping a trailing "/"."""
    if len(key.encode()) >= 1020:
        return key[:-1] + "Z"
    if key.endswith("/"):
        return key + "renamed/"
    return key + ".renamed"
