"""The label renderer Lambda function: a sheet of label faces in (labels/faces.py's JSON), its
PDF out as base64. Its own function, built from the optimiser's package, because reportlab (and
the Pillow it imports) would not fit in the API's; the API invokes it synchronously through
the LabelRenderer port (labels/lambda_renderer.py). Deployed as labels/function.py says.

    event:  {"faces": [{label, parcel_no, parcels, tracking_code, depot, name, address_lines,
                        route, stop_no, weight_kg}, ...]}
    answer: {"pdf": "<base64>", "bytes": n}, or {"too_large": n} for a PDF past MAX_PDF_BYTES
            (its base64 would not fit in Lambda's 6 MB answer). A malformed sheet raises
            ValueError: a function error naming the field.
"""

from __future__ import annotations

import base64
from typing import Any

from chalicelib.labels.faces import MAX_PDF_BYTES, sheet_from_json
from chalicelib.labels.pdf import render


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    pdf = render(sheet_from_json(event))
    if len(pdf) > MAX_PDF_BYTES:
        return {"too_large": len(pdf)}
    return {"pdf": base64.b64encode(pdf).decode("ascii"), "bytes": len(pdf)}
