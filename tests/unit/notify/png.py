"""Reads back the black-and-white PNGs segno writes (greyscale, 1 bit, no interlace), with the
standard library only, so a test can see the modules of a QR code an email carries."""

from __future__ import annotations

import struct
import zlib

SIGNATURE = b"\x89PNG\r\n\x1a\n"


def chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    """(type, payload) of each chunk, every CRC checked."""
    assert data.startswith(SIGNATURE), "not a PNG"
    found, at = [], len(SIGNATURE)
    while at < len(data):
        (length,) = struct.unpack(">I", data[at : at + 4])
        kind, payload = data[at + 4 : at + 8], data[at + 8 : at + 8 + length]
        (crc,) = struct.unpack(">I", data[at + 8 + length : at + 12 + length])
        assert zlib.crc32(kind + payload) == crc, f"bad CRC in {kind!r}"
        found.append((kind, payload))
        at += 12 + length
    assert found[0][0] == b"IHDR" and found[-1][0] == b"IEND"
    return found


def pixels(data: bytes) -> list[list[int]]:
    """Rows of 0 (black) and 1 (white)."""
    parts = chunks(data)
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", parts[0][1])
    assert (depth, colour, interlace) == (1, 0, 0), "not 1-bit greyscale"
    raw = zlib.decompress(b"".join(p for k, p in parts if k == b"IDAT"))
    stride = (width + 7) // 8
    rows: list[list[int]] = []
    previous = bytes(stride)
    for y in range(height):
        line = raw[y * (stride + 1) : (y + 1) * (stride + 1)]
        kind, body = line[0], line[1:]
        if kind == 2:  # Up: each byte adds the one above it
            body = bytes((b + a) & 0xFF for b, a in zip(body, previous, strict=True))
        else:
            assert kind == 0, f"PNG filter {kind} not read here"
        previous = body
        rows.append([(body[x // 8] >> (7 - x % 8)) & 1 for x in range(width)])
    return rows


def modules(data: bytes, *, scale: int, border: int) -> list[list[int]]:
    """The QR code's modules (1 dark), one pixel read from the middle of each."""
    image = pixels(data)
    size = len(image) // scale - 2 * border
    return [
        [
            1 - image[(border + r) * scale + scale // 2][(border + c) * scale + scale // 2]
            for c in range(size)
        ]
        for r in range(size)
    ]
