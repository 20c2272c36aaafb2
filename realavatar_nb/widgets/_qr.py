"""The H5 link as a QR code a phone can scan off a laptop screen."""

from __future__ import annotations

import io

__all__ = ["qr_png"]


def qr_png(data: str, *, box_size: int = 8, border: int = 4) -> bytes:
    """Return a PNG of ``data`` as a QR code (error correction M, ``box_size`` pixels per module).

    Eight pixels per module keeps a 100–200 character link around 450 px: a phone camera reads
    that from arm's length even when the notebook shrinks it to half.
    """
    import qrcode
    from qrcode.constants import ERROR_CORRECT_M
    from qrcode.image.pil import PilImage

    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, box_size=box_size, border=border)
    code.add_data(data)
    code.make(fit=True)
    buffer = io.BytesIO()
    code.make_image(image_factory=PilImage).save(buffer, format="PNG")
    return buffer.getvalue()
