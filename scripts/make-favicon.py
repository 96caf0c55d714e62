#!/usr/bin/env python3
"""Draws Lineup's icon (src/Lineup.Server/Wallboard/favicon.svg: a rounded square with three bars of a queue) at
16, 32 and 48 pixels and writes favicon.ico beside it: PNG images in an ICO container, standard library only.
Run it after changing the SVG's shapes here and there: python3 scripts/make-favicon.py"""
import os, struct, zlib

# (x, y, width, height, corner radius, RGB) in the SVG's 32x32 units, drawn in order.
SHAPES = [
    (0, 0, 32, 32, 7, (0x1F, 0x6F, 0x43)),
    (6, 7, 20, 4.5, 2.25, (0xE8, 0xED, 0xF2)),
    (6, 13.75, 14, 4.5, 2.25, (0xE8, 0xED, 0xF2)),
    (6, 20.5, 8, 4.5, 2.25, (0x3C, 0xCF, 0x7E)),
]

def inside(px, py, x, y, w, h, r):
    if not (x <= px <= x + w and y <= py <= y + h):
        return False
    cx = min(max(px, x + r), x + w - r)
    cy = min(max(py, y + r), y + h - r)
    return (px - cx) ** 2 + (py - cy) ** 2 <= r * r

def render(size, samples=4):
    rows = []
    for j in range(size):
        row = bytearray([0])  # PNG filter: none
        for i in range(size):
            acc = [0.0, 0.0, 0.0, 0.0]
            for sj in range(samples):
                for si in range(samples):
                    px = (i + (si + 0.5) / samples) * 32 / size
                    py = (j + (sj + 0.5) / samples) * 32 / size
                    color = None
                    for x, y, w, h, r, rgb in SHAPES:
                        if inside(px, py, x, y, w, h, r):
                            color = rgb
                    if color:
                        acc[0] += color[0]; acc[1] += color[1]; acc[2] += color[2]; acc[3] += 255
            n = samples * samples
            alpha = acc[3] / n
            rgb = [int(round(c / (acc[3] / 255))) if acc[3] else 0 for c in acc[:3]]
            row += bytes(rgb + [int(round(alpha))])
        rows.append(bytes(row))
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"".join(rows), 9)) + chunk(b"IEND", b""))

def main():
    sizes = [16, 32, 48]
    images = [render(s) for s in sizes]
    out = struct.pack("<HHH", 0, 1, len(images))
    offset = 6 + 16 * len(images)
    for size, png in zip(sizes, images):
        out += struct.pack("<BBBBHHII", size % 256, size % 256, 0, 0, 1, 32, len(png), offset)
        offset += len(png)
    out += b"".join(images)
    path = os.path.join(os.path.dirname(__file__), "..", "src", "Lineup.Server", "Wallboard", "favicon.ico")
    with open(path, "wb") as f:
        f.write(out)

main()
