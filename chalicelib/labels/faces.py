"""What one parcel's label shows, and the sheet of them as the plain JSON value the API hands
the label renderer function (labels/renderer.py) and that function reads back."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from chalicelib.domain.errors import PayloadTooLarge

# A synchronous Lambda answer holds 6 MB (6,291,456 bytes), and the PDF travels in it as base64
# (a third more): 4 MB of PDF is 5.33 MB of answer, with room for the JSON around it.
MAX_PDF_BYTES = 4_000_000


@dataclass(frozen=True)
class LabelFace:
    """What one parcel's label shows."""

    label: str
    parcel_no: int
    parcels: int
    tracking_code: str
    depot: str
    name: str
    address_lines: tuple[str, ...]
    route: str | None = None  # the vehicle or route it is planned on, once planned
    stop_no: int | None = None  # its stop on that route, from 1
    weight_kg: float | None = None


def sheet_to_json(faces: Sequence[LabelFace]) -> dict[str, Any]:
    """The sheet as JSON: `{"faces": [{...LabelFace's fields...}, ...]}`, in printing order."""
    return {"faces": [{**asdict(f), "address_lines": list(f.address_lines)} for f in faces]}


def sheet_from_json(sheet: Any) -> list[LabelFace]:
    """The faces of a sheet that `sheet_to_json` made; ValueError for anything else (a field
    missing, unknown, or of the wrong type), naming it."""
    if not isinstance(sheet, dict) or not isinstance(sheet.get("faces"), list):
        raise ValueError('a sheet is {"faces": [...]}')
    return [_face(n, face) for n, face in enumerate(sheet["faces"])]


_TEXT = ("label", "tracking_code", "depot", "name")
_COUNTS = ("parcel_no", "parcels")
_FIELDS = frozenset(LabelFace.__dataclass_fields__)


def _face(n: int, face: Any) -> LabelFace:
    where = f"faces[{n}]"
    if not isinstance(face, dict):
        raise ValueError(f"{where}: an object")
    if unknown := sorted(set(face) - _FIELDS):
        raise ValueError(f"{where}.{unknown[0]}: unknown field")
    for name in _TEXT:
        if not isinstance(face.get(name), str):
            raise ValueError(f"{where}.{name}: a string")
    for name in _COUNTS:
        if type(face.get(name)) is not int:
            raise ValueError(f"{where}.{name}: an integer")
    lines = face.get("address_lines")
    if not isinstance(lines, list) or not all(isinstance(line, str) for line in lines):
        raise ValueError(f"{where}.address_lines: a list of strings")
    route, stop_no, weight = face.get("route"), face.get("stop_no"), face.get("weight_kg")
    if route is not None and not isinstance(route, str):
        raise ValueError(f"{where}.route: a string or null")
    if stop_no is not None and type(stop_no) is not int:
        raise ValueError(f"{where}.stop_no: an integer or null")
    if weight is not None and (isinstance(weight, bool) or not isinstance(weight, int | float)):
        raise ValueError(f"{where}.weight_kg: a number or null")
    return LabelFace(
        label=face["label"],
        parcel_no=face["parcel_no"],
        parcels=face["parcels"],
        tracking_code=face["tracking_code"],
        depot=face["depot"],
        name=face["name"],
        address_lines=tuple(lines),
        route=route,
        stop_no=stop_no,
        weight_kg=weight,
    )


def pdf_too_large(size: int) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"the labels make a {size} byte PDF, more than one answer holds: ask for them "
        "route by route (?route_id=)",
        field="route_id",
    )
