"""Datasets (PS3.5 §7): an ordered mapping from tag to element, nested via sequences.

``Dataset`` is a typed ``MutableMapping[int, Element]``: keys are tags (plain ints
or ``Tag``); keywords (``"PatientName"``) are accepted wherever a key is. Iteration
is always in ascending tag order. Typed getters (``get_str``, ``get_int``, ...) are
the API library code uses; there is no attribute magic.

Paths address nested elements: ``"ReferencedSeriesSequence[0].SeriesInstanceUID"``,
with tags written as keywords, ``(0008,1115)`` or ``00081115``.

Private data elements (PS3.5 §7.8.1) are reached through ``private_block``: the
creator string reserves a block ``(gggg,00xx)`` and its elements live at
``(gggg,xxNN)``.
"""

from __future__ import annotations

import datetime
import enum
import re
from collections.abc import Iterator, MutableMapping, Sequence
from typing import TYPE_CHECKING, TypeAlias, overload

from dicomkit.data.charset import DEFAULT_CHARSET, Charset
from dicomkit.data.element import Element
from dicomkit.data.pixel_byte_order import is_native_ow_pixel_data, little_endian_pixel_bytes
from dicomkit.data.tag import Tag, is_private, tag_from_string
from dicomkit.data.value_codec import ElementValue, Scalar
from dicomkit.errors import DicomError, DictionaryError

if TYPE_CHECKING:
    from dicomkit.data.values.person_name import PersonName

__all__ = ["Dataset", "Key", "MergeConflictError", "MergePolicy", "PrivateBlock"]

Key: TypeAlias = int | str

_CHARSET_TAG = 0x00080005


class MergePolicy(enum.Enum):
    """What ``Dataset.merge`` does when both datasets hold a tag with different values."""

    KEEP = "keep"  # keep ours
    REPLACE = "replace"  # take theirs
    ERROR = "error"  # raise MergeConflictError


class MergeConflictError(DicomError):
    """Two datasets disagree on an element and the merge policy is ERROR."""

    def __init__(self, tag: int) -> None:
        self.tag = Tag(tag)
        super().__init__(f"merge conflict at {self.tag}")


def resolve_key(key: Key) -> Tag:
    """A tag from an int, a keyword or a tag string like '(0010,0010)'."""
    if isinstance(key, int):
        return key if type(key) is Tag else Tag(key)
    from dicomkit.data.dictionary import lookup_keyword

    entry = lookup_keyword(key)
    if entry is not None:
        return Tag(entry.tag)
    try:
        return tag_from_string(key)
    except ValueError:
        raise DictionaryError(f"unknown keyword {key!r}") from None


def default_vr(tag: int) -> str:
    """The dictionary VR for a tag (the first one when several are allowed)."""
    from dicomkit.data.dictionary import vr_for_tag

    return vr_for_tag(tag)


class Dataset(MutableMapping[int, Element]):
    """An ordered collection of data elements."""

    __slots__ = ("_elements", "_sorted", "parent_charset")

    def __init__(self, elements: dict[int, Element] | None = None) -> None:
        self._elements: dict[int, Element] = {}
        self._sorted = True
        #: character set inherited from the enclosing dataset (sequence items).
        self.parent_charset: Charset | None = None
        if elements:
            for element in elements.values():
                self.add(element)

    # ------------------------------------------------------ mapping protocol

    def __getitem__(self, key: Key) -> Element:
        tag = key if isinstance(key, int) else resolve_key(key)
        return self._elements[tag]

    def __setitem__(self, key: Key, element: Element) -> None:
        tag = key if isinstance(key, int) else resolve_key(key)
        if element.tag != tag:
            raise KeyError(f"element {element.tag} stored under {Tag(tag)}")
        self.add(element)

    def __delitem__(self, key: Key) -> None:
        tag = key if isinstance(key, int) else resolve_key(key)
        del self._elements[tag]

    def __contains__(self, key: object) -> bool:
        if isinstance(key, int):
            return key in self._elements
        if isinstance(key, str):
            try:
                return resolve_key(key) in self._elements
            except DictionaryError:
                return False
        return False

    def __iter__(self) -> Iterator[int]:
        self._sort()
        return iter(list(self._elements))

    def __len__(self) -> int:
        return len(self._elements)

    def _sort(self) -> None:
        if not self._sorted:
            self._elements = dict(sorted(self._elements.items()))
            self._sorted = True

    def elements(self) -> Iterator[Element]:
        """Elements in ascending tag order."""
        self._sort()
        return iter(list(self._elements.values()))

    def add(self, element: Element) -> None:
        """Insert or replace an element (readers append in tag order: O(1))."""
        elements = self._elements
        if self._sorted and elements and element.tag not in elements:
            last = next(reversed(elements))
            if element.tag < last:
                self._sorted = False
        elements[element.tag] = element

    # ----------------------------------------------------------- create/modify

    def set(self, key: Key, value: ElementValue, vr: str | None = None) -> Element:
        """Create or replace the element at ``key`` with a decoded value.

        The VR defaults to the existing element's, else the dictionary's.
        """
        tag = resolve_key(key)
        if vr is None:
            existing = self._elements.get(tag)
            if existing is not None:
                vr = existing.vr
            elif is_private(tag) and (tag & 0xFFFF) <= 0xFF and (tag & 0xFFFF) >= 0x10:
                vr = "LO"
            else:
                vr = default_vr(tag)
        element = Element(tag, vr, value)
        self.add(element)
        return element

    def setdefault_element(self, key: Key, value: ElementValue, vr: str | None = None) -> Element:
        """The element at ``key``, created with ``value`` first if absent."""
        tag = resolve_key(key)
        existing = self._elements.get(tag)
        return existing if existing is not None else self.set(tag, value, vr)

    def delete(self, key: Key) -> bool:
        """Remove the element at ``key``; False if it was not there."""
        tag = resolve_key(key)
        return self._elements.pop(tag, None) is not None

    # ---------------------------------------------------------- typed getters

    def get_element(self, key: Key) -> Element | None:
        tag = key if isinstance(key, int) else resolve_key(key)
        return self._elements.get(tag)

    def get_value(self, key: Key, default: ElementValue = None) -> ElementValue:
        element = self.get_element(key)
        return default if element is None else element.value

    def get_values(self, key: Key) -> Sequence[Scalar] | list[Dataset]:
        element = self.get_element(key)
        return [] if element is None else element.values

    # A str/int/float default narrows the result: ``get_str(key, "")`` is a ``str``.
    @overload
    def get_str(self, key: Key, default: str) -> str: ...
    @overload
    def get_str(self, key: Key, default: str | None = None) -> str | None: ...
    def get_str(self, key: Key, default: str | None = None) -> str | None:
        """First value as text; '' when present but empty; ``default`` when absent."""
        element = self.get_element(key)
        if element is None:
            return default
        values = element.values
        if not values:
            return ""
        first = values[0]
        return first if isinstance(first, str) else str(first)

    def get_strs(self, key: Key) -> list[str]:
        return [v if isinstance(v, str) else str(v) for v in self.get_values(key)]

    @overload
    def get_int(self, key: Key, default: int) -> int: ...
    @overload
    def get_int(self, key: Key, default: int | None = None) -> int | None: ...
    def get_int(self, key: Key, default: int | None = None) -> int | None:
        values = self.get_values(key)
        if not values:
            return default
        first = values[0]
        if isinstance(first, int):
            return int(first)
        if isinstance(first, float) and first.is_integer():
            return int(first)
        if isinstance(first, str):
            from dicomkit.data.values.numbers import parse_is

            return parse_is(first)
        raise TypeError(f"{resolve_key(key)} does not hold an integer")

    def get_ints(self, key: Key) -> list[int]:
        return [int(v) for v in self.get_values(key)]  # type: ignore[arg-type]

    @overload
    def get_float(self, key: Key, default: float) -> float: ...
    @overload
    def get_float(self, key: Key, default: float | None = None) -> float | None: ...
    def get_float(self, key: Key, default: float | None = None) -> float | None:
        values = self.get_values(key)
        if not values:
            return default
        first = values[0]
        if isinstance(first, int | float):
            return float(first)
        if isinstance(first, str):
            from dicomkit.data.values.numbers import parse_ds

            return parse_ds(first)
        raise TypeError(f"{resolve_key(key)} does not hold a number")

    def get_floats(self, key: Key) -> list[float]:
        return [float(v) for v in self.get_values(key)]  # type: ignore[arg-type]

    def get_bytes(self, key: Key) -> bytes | None:
        element = self.get_element(key)
        if element is None:
            return None
        value = element.value
        if isinstance(value, bytes):
            return value
        raise TypeError(f"{element.tag} ({element.vr}) does not hold bytes")

    def get_sequence(self, key: Key) -> list[Dataset]:
        """The items of a sequence; [] when absent."""
        element = self.get_element(key)
        if element is None:
            return []
        return element.sequence

    def get_date(self, key: Key) -> datetime.date | None:
        from dicomkit.data.values.datetime import parse_da

        text = self.get_str(key)
        return parse_da(text) if text else None

    def get_time(self, key: Key) -> datetime.time | None:
        from dicomkit.data.values.datetime import parse_tm

        text = self.get_str(key)
        return parse_tm(text) if text else None

    def get_datetime(self, key: Key) -> datetime.datetime | None:
        from dicomkit.data.values.datetime import parse_dt

        text = self.get_str(key)
        return parse_dt(text) if text else None

    def get_person_name(self, key: Key) -> PersonName | None:
        from dicomkit.data.values.person_name import PersonName

        text = self.get_str(key)
        return PersonName.from_str(text, strict=False) if text is not None else None

    # -------------------------------------------------------- character set

    @property
    def charset(self) -> Charset:
        """The Specific Character Set in force here (own, else inherited, else default)."""
        element = self._elements.get(_CHARSET_TAG)
        if element is not None:
            return Charset.from_value(self.get_strs(_CHARSET_TAG))
        return self.parent_charset or DEFAULT_CHARSET

    # ------------------------------------------------------------------ paths

    def find(self, path: str) -> Element | None:
        """The element at a path such as ``"ReferencedSeriesSequence[0].SeriesInstanceUID"``."""
        dataset: Dataset = self
        steps = _parse_path(path)
        for position, (tag, index) in enumerate(steps):
            element = dataset.get_element(tag)
            if element is None:
                return None
            if index is None:
                if position == len(steps) - 1:
                    return element
                if element.vr != "SQ" or len(element.sequence) != 1:
                    return None
                dataset = element.sequence[0]
                continue
            if element.vr != "SQ" or not -len(element.sequence) <= index < len(element.sequence):
                return None
            if position == len(steps) - 1:
                return None  # a path ends at an element, not an item
            dataset = element.sequence[index]
        return None

    def find_value(self, path: str, default: ElementValue = None) -> ElementValue:
        element = self.find(path)
        return default if element is None else element.value

    def set_path(self, path: str, value: ElementValue, vr: str | None = None) -> Element:
        """Set the element at a path, creating sequences and items on the way."""
        steps = _parse_path(path)
        dataset: Dataset = self
        for tag, index in steps[:-1]:
            element = dataset.get_element(tag)
            if element is None:
                element = dataset.set(tag, [], "SQ")
            if element.vr != "SQ":
                raise TypeError(f"{Tag(tag)} in {path!r} is not a sequence")
            items = element.sequence
            wanted = 0 if index is None else index
            while len(items) <= wanted:
                items.append(Dataset())
            dataset = items[wanted]
        tag, index = steps[-1]
        if index is not None:
            raise ValueError(f"path {path!r} must end at an element")
        return dataset.set(tag, value, vr)

    # ------------------------------------------------------- copy and merge

    def copy(self) -> Dataset:
        """A deep copy: nested items are copied, raw bytes shared (immutable)."""
        new = Dataset()
        new._elements = {tag: element.copy() for tag, element in self._elements.items()}
        new._sorted = self._sorted
        new.parent_charset = self.parent_charset
        return new

    __copy__ = copy

    def __deepcopy__(self, memo: dict[int, object]) -> Dataset:
        return self.copy()

    def merge(self, other: Dataset, *, policy: MergePolicy = MergePolicy.ERROR) -> None:
        """Add the elements of ``other``; conflicts (same tag, different value) follow ``policy``.

        Sequences are compared as whole values, not merged item by item; native Pixel
        Data as pixel cells, as ``==`` compares data sets.
        """
        for element in other.elements():
            mine = self._elements.get(element.tag)
            if mine is None:
                self.add(element.copy())
            elif not _equal_in(self, mine, element):
                if policy is MergePolicy.REPLACE:
                    self.add(element.copy())
                elif policy is MergePolicy.ERROR:
                    raise MergeConflictError(element.tag)

    # ---------------------------------------------------------------- private

    def private_creators(self, group: int) -> dict[str, int]:
        """Creator string -> block number (0x10..0xFF) for a private group."""
        creators: dict[str, int] = {}
        for block in range(0x10, 0x100):
            element = self._elements.get((group << 16) | block)
            if element is not None:
                value = element.value
                if isinstance(value, str) and value:
                    creators.setdefault(value, block)
        return creators

    def private_block(self, group: int, creator: str, *, create: bool = False) -> PrivateBlock:
        """The private block that ``creator`` reserves in ``group`` (creating it if asked)."""
        if not (group & 1) or group in (1, 3, 5, 7, 0xFFFF):
            raise ValueError(f"group {group:04X} is not private")
        creators = self.private_creators(group)
        if creator in creators:
            return PrivateBlock(self, group, creator, creators[creator])
        if not create:
            raise KeyError(f"no private creator {creator!r} in group {group:04X}")
        for block in range(0x10, 0x100):
            if (group << 16) | block not in self._elements:
                self.set((group << 16) | block, creator, "LO")
                return PrivateBlock(self, group, creator, block)
        raise ValueError(f"group {group:04X} has no free private block")

    # ----------------------------------------------------------------- dunder

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Dataset):
            return NotImplemented
        if self._elements.keys() != other._elements.keys():
            return False
        return all(_equal_in(self, element, other._elements[tag]) for tag, element in self._elements.items())

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        shown = ", ".join(repr(element) for element in list(self.elements())[:8])
        more = ", ..." if len(self) > 8 else ""
        return f"Dataset([{shown}{more}])"


def _equal_in(ds: Dataset, mine: Element, theirs: Element) -> bool:
    """Element equality, with native OW Pixel Data of ``ds`` compared pixel cell by cell.

    Element equality swaps OW in 16-bit words across byte orders; 32/64-bit cells change
    byte order whole (``pixel_byte_order``), so an LE and a BE data set holding the same
    pixels are equal.
    """
    if (
        mine.little_endian != theirs.little_endian
        and is_native_ow_pixel_data(mine)
        and is_native_ow_pixel_data(theirs)
    ):
        return little_endian_pixel_bytes(mine, ds) == little_endian_pixel_bytes(theirs, ds)
    return mine == theirs


class PrivateBlock:
    """Elements ``(gggg,BBxx)`` of the block that one private creator reserved."""

    __slots__ = ("block", "creator", "dataset", "group")

    def __init__(self, dataset: Dataset, group: int, creator: str, block: int) -> None:
        self.dataset = dataset
        self.group = group
        self.creator = creator
        self.block = block

    def tag(self, offset: int) -> Tag:
        if not 0 <= offset <= 0xFF:
            raise ValueError(f"private element offset out of range: {offset:#x}")
        return Tag(self.group, (self.block << 8) | offset)

    def __getitem__(self, offset: int) -> Element:
        return self.dataset[self.tag(offset)]

    def __contains__(self, offset: int) -> bool:
        return self.tag(offset) in self.dataset

    def get(self, offset: int) -> Element | None:
        return self.dataset.get_element(self.tag(offset))

    def set(self, offset: int, value: ElementValue, vr: str) -> Element:
        return self.dataset.set(self.tag(offset), value, vr)

    def __repr__(self) -> str:
        return f"PrivateBlock({self.group:04X}, {self.creator!r}, block {self.block:02X})"


_STEP = re.compile(
    r"^(?P<name>[A-Za-z][A-Za-z0-9]*|\(?[0-9A-Fa-f]{4},?[0-9A-Fa-f]{4}\)?)(?:\[(?P<index>-?\d+)\])?$"
)


def _parse_path(path: str) -> list[tuple[Tag, int | None]]:
    steps: list[tuple[Tag, int | None]] = []
    # Split on dots that are not inside parentheses (tags contain none anyway).
    for part in path.split("."):
        match = _STEP.match(part.strip())
        if match is None:
            raise ValueError(f"bad path step {part!r} in {path!r}")
        index = match.group("index")
        steps.append((resolve_key(match.group("name")), None if index is None else int(index)))
    if not steps:
        raise ValueError("empty path")
    return steps
