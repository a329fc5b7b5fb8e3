"""4x6 inch parcel labels as a PDF, one page a parcel: the label as Code 128 and QR (reportlab's
own barcode widgets, never hand-drawn bars), parcel n of m, depot, route and stop, the
recipient as a courier label carries them, and the tracking code.

Drawn in the label renderer function (labels/renderer.py, built from the optimiser's package):
reportlab needs Pillow, together about 35 MB that the API's package has no room for."""

from __future__ import annotations

import io
from collections.abc import Sequence

from chalicelib.labels.faces import LabelFace

INCH = 72.0  # points
PAGE = (4 * INCH, 6 * INCH)
MARGIN = 0.2 * INCH


def render(faces: Sequence[LabelFace]) -> bytes:
    """The PDF of `faces`, one 4x6 inch page each, in the order given."""
    # Imported here: the label renderer function alone draws, and only when asked to.
    from reportlab.graphics import renderPDF
    from reportlab.graphics.barcode import code128, qr
    from reportlab.graphics.shapes import Drawing
    from reportlab.pdfgen.canvas import Canvas

    out = io.BytesIO()
    canvas = Canvas(out, pagesize=PAGE, pageCompression=1)
    canvas.setTitle("lastmile parcel labels")
    canvas.setCreator("lastmile")
    width, height = PAGE
    for face in faces:
        top = height - MARGIN
        canvas.setFont("Helvetica-Bold", 11)
        canvas.drawString(MARGIN, top - 11, f"lastmile · {face.depot}"[:52])
        canvas.setFont("Helvetica-Bold", 16)
        canvas.drawRightString(
            width - MARGIN, top - 14, f"parcel {face.parcel_no} of {face.parcels}"
        )
        canvas.line(MARGIN, top - 22, width - MARGIN, top - 22)
        # Route and stop: what the loader sorts by, large.
        canvas.setFont("Helvetica-Bold", 20)
        planned = (
            f"{face.route} · stop {face.stop_no}"
            if face.route and face.stop_no
            else "not yet planned"
        )
        canvas.drawString(MARGIN, top - 48, planned[:28])
        canvas.line(MARGIN, top - 58, width - MARGIN, top - 58)
        # The recipient, as a courier label carries them.
        canvas.setFont("Helvetica", 9)
        canvas.drawString(MARGIN, top - 72, "DELIVER TO")
        canvas.setFont("Helvetica-Bold", 14)
        y = top - 90
        canvas.drawString(MARGIN, y, face.name[:34])
        canvas.setFont("Helvetica", 13)
        for line in face.address_lines:
            y -= 16
            canvas.drawString(MARGIN, y, line[:38])
        # The label's QR beside its text, the Code 128 across the foot.
        qr_size = 1.5 * INCH
        code = qr.QrCodeWidget(face.label, barLevel="M")
        x0, y0, x1, y1 = code.getBounds()
        drawing = Drawing(
            qr_size, qr_size, transform=[qr_size / (x1 - x0), 0, 0, qr_size / (y1 - y0), 0, 0]
        )
        drawing.add(code)
        qr_y = 1.45 * INCH
        renderPDF.draw(drawing, canvas, width - MARGIN - qr_size, qr_y)
        canvas.setFont("Helvetica", 9)
        canvas.drawString(MARGIN, qr_y + qr_size - 10, "TRACKING")
        canvas.setFont("Courier-Bold", 13)
        canvas.drawString(MARGIN, qr_y + qr_size - 26, face.tracking_code)
        if face.weight_kg is not None:
            canvas.setFont("Helvetica", 11)
            canvas.drawString(MARGIN, qr_y + qr_size - 46, f"{face.weight_kg:g} kg")
        bars = code128.Code128(face.label, barHeight=0.8 * INCH, barWidth=1.2, quiet=True)
        bars.drawOn(canvas, (width - bars.width) / 2, 0.45 * INCH)
        canvas.setFont("Courier-Bold", 14)
        canvas.drawCentredString(width / 2, 0.22 * INCH, face.label)
        canvas.showPage()
    canvas.save()
    return out.getvalue()
