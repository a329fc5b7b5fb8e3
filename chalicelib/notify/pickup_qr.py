"""The pickup code as a QR code for the locker kiosk's scanner: a PNG shown inline in the email."""

from __future__ import annotations

import io

from chalicelib.notify.messages import InlineAttachment

CONTENT_ID = "pickup-code-qr"
SCALE = 8  # pixels per module: a version 1 symbol (up to 17 digits) is 232 px square
BORDER = 4  # the quiet zone the QR standard asks for, in modules
SHOWN_PX = 200  # the size the email shows it at


def pickup_qr_png(code: str) -> bytes:
    """A QR code holding just the code's digits (numeric mode), black on white."""
    import segno  # here, not at import: only pickup-code emails draw one

    qr = segno.make(code, micro=False)
    out = io.BytesIO()
    qr.save(out, kind="png", scale=SCALE, border=BORDER)
    return out.getvalue()


def pickup_qr(code: str) -> InlineAttachment:
    return InlineAttachment(
        content_id=CONTENT_ID,
        filename="pickup-code.png",
        content_type="image/png",
        content=pickup_qr_png(code),
    )
