"""Charts drawn on the server as SVG: the numbers become bar lengths here, and the
templates (buckets/_bars.html, buckets/_columns.html) draw them, escaping every
label as any other text of a page. No script, no chart library."""

from __future__ import annotations

from dataclasses import dataclass

# Geometry of the drawings, in SVG user units (they scale with the page).
WIDTH = 640
LABEL_WIDTH = 220  # horizontal bars: the label column
BAR_SPACE = 300  # horizontal bars: the longest bar
ROW = 24
COLUMN_HEIGHT = 140  # columns: the tallest column
VALUE_ROOM = 20  # columns: room above the tallest for its value
LABEL_CHARS = 32


@dataclass
class Bar:
    label: str
    value: int
    text: str  # the value as the page shows it
    share: float  # percent of the whole
    link: str = ""
    count: int = 0  # what a table beside the chart shows with the value
    length: float = 0.0  # the bar's length or the column's height
    offset: float = 0.0  # its row's top (bars) or its column's left edge (columns)

    # Where its value is written: after the bar, or above the column.
    @property
    def value_x(self) -> float:
        return round(LABEL_WIDTH + self.length + 6, 1)

    @property
    def top(self) -> float:
        return round(VALUE_ROOM + COLUMN_HEIGHT - self.length, 1)

    @property
    def value_y(self) -> float:
        return round(self.top - 4, 1)

    @property
    def short_label(self) -> str:
        if len(self.label) <= LABEL_CHARS:
            return self.label
        return self.label[: LABEL_CHARS - 1] + "…"


@dataclass
class Chart:
    bars: list[Bar]
    width: int = WIDTH
    height: int = 0
    column_width: float = 0.0

    @property
    def bar_width(self) -> float:
        return round(max(1.0, self.column_width - 12), 1)

    @property
    def middle(self) -> float:
        return round(self.column_width / 2, 1)

    @property
    def label_y(self) -> int:
        return VALUE_ROOM + COLUMN_HEIGHT + 18


def _shares(bars: list[Bar], whole: int) -> None:
    for bar in bars:
        bar.share = 100.0 * bar.value / whole if whole else 0.0


def bars(rows: list[tuple], whole: int) -> Chart:
    """Horizontal bars from (label, value, text, link) rows, longest first as given."""
    items = [Bar(label, value, text, 0.0, link) for label, value, text, link in rows]
    _shares(items, whole)
    most = max((b.value for b in items), default=0)
    for number, bar in enumerate(items):
        bar.offset = number * ROW
        bar.length = round(BAR_SPACE * bar.value / most, 1) if most else 0.0
    return Chart(items, height=max(ROW, len(items) * ROW))


def columns(rows: list[tuple], whole: int) -> Chart:
    """A histogram: one column per (label, value, text) row, in the rows' order."""
    items = [Bar(label, value, text, 0.0) for label, value, text in rows]
    _shares(items, whole)
    most = max((b.value for b in items), default=0)
    width = WIDTH / max(1, len(items))
    for number, bar in enumerate(items):
        bar.offset = round(number * width, 1)
        bar.length = round(COLUMN_HEIGHT * bar.value / most, 1) if most else 0.0
    # Room above the tallest column for its value, and below the columns for the labels.
    return Chart(items, height=VALUE_ROOM + COLUMN_HEIGHT + 28, column_width=round(width, 1))
