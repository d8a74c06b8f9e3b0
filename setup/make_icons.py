"""Draws each addon's static/description/icon.png: a speech bubble on a colour.

Run once with the venv's Python (Pillow is an Odoo requirement); the PNGs are
committed. ``python setup/make_icons.py`` rewrites them.
"""

from pathlib import Path

from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parent.parent
SIZE = 256
# addon -> (background, detail drawn inside the bubble)
ICONS = {
    "sms_mailing": ((0x87, 0x5A, 0x7B), "dots"),
    "sms_provider_smsru": ((0x1F, 0x6F, 0xB5), "arrow"),
    "sms_provider_modem": ((0x2E, 0x8B, 0x57), "bars"),
    "sms_provider_smpp": ((0xC0, 0x5A, 0x1F), "arrows"),
}


def draw(background, detail):
    img = Image.new("RGBA", (SIZE, SIZE), (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    d.rounded_rectangle((0, 0, SIZE - 1, SIZE - 1), radius=40, fill=background)
    white = (255, 255, 255)
    d.rounded_rectangle((40, 56, 216, 176), radius=28, fill=white)
    d.polygon([(76, 170), (124, 170), (70, 214)], fill=white)
    if detail == "dots":
        for x in (88, 128, 168):
            d.ellipse((x - 13, 103, x + 13, 129), fill=background)
    elif detail == "arrow":
        d.rectangle((76, 108, 150, 124), fill=background)
        d.polygon([(146, 90), (186, 116), (146, 142)], fill=background)
    elif detail == "arrows":  # both ways: sending and receiving
        d.rectangle((70, 92, 150, 106), fill=background)
        d.polygon([(146, 78), (182, 99), (146, 120)], fill=background)
        d.rectangle((106, 128, 186, 142), fill=background)
        d.polygon([(110, 114), (74, 135), (110, 156)], fill=background)
    else:  # signal bars
        for i, x in enumerate((84, 114, 144, 174)):
            top = 146 - 16 * (i + 1)
            d.rectangle((x - 10, top, x + 10, 150), fill=background)
    return img


def main():
    for addon, (background, detail) in ICONS.items():
        path = ROOT / addon / "static" / "description" / "icon.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        draw(background, detail).save(path, optimize=True)
        print(path.relative_to(ROOT))


if __name__ == "__main__":
    main()
