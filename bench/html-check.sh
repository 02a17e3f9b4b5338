#!/usr/bin/env bash
# Renders the page of `hotfix stats --html` in headless Chromium and checks what it shows: that
# the page loads with no network at all, draws its charts (the DOM Chromium built has the SVG
# bars), and is not blank (the screenshot has many distinct colours). Not part of `cargo test`.
#
# Usage: bench/html-check.sh [REPO] [OUT-DIR]
#   REPO     a repository with hotfix releases (default: a fresh `hotfix demo` team's clone)
#   OUT-DIR  where report.html, report.png and report.pdf go (default: a temporary folder)
# Needs Debian's chromium (`apt-get install chromium`). Prints "html check: ok" at the end.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
hotfix=${HOTFIX:-}
if [ -z "$hotfix" ]; then
	cargo build --quiet --manifest-path "$here/Cargo.toml"
	hotfix="$here/target/debug/hotfix"
fi
browser=$(command -v chromium || command -v chromium-browser || true)
[ -n "$browser" ] || { echo "html check: no chromium on PATH (apt-get install chromium)" >&2; exit 2; }

repo=${1:-}
if [ -z "$repo" ]; then
	demo=$("$hotfix" demo 2>&1 | sed -n 's/^The whole pipeline ran. The repositories stay in \(.*\) to explore:$/\1/p')
	[ -n "$demo" ] || { echo "html check: the demo did not say where it left its repositories" >&2; exit 1; }
	repo="$demo/author"
fi
out=${2:-$(mktemp -d)}
mkdir -p "$out"

"$hotfix" -C "$repo" stats --html "$out/report.html" >/dev/null

# The closed network of this machine makes any request from the page fail loudly; the flags keep
# Chromium's own background traffic off.
flags=(--headless --no-sandbox --disable-gpu --disable-quic --no-first-run
	--disable-background-networking --disable-component-update --disable-sync
	--user-data-dir="$out/profile" --window-size=1200,2200)
"$browser" "${flags[@]}" --screenshot="$out/report.png" "file://$out/report.html" >/dev/null 2>&1
"$browser" "${flags[@]}" --print-to-pdf="$out/report.pdf" --no-pdf-header-footer "file://$out/report.html" >/dev/null 2>&1
"$browser" "${flags[@]}" --dump-dom "file://$out/report.html" 2>/dev/null >"$out/dom.html"

fail() { echo "html check: $*" >&2; exit 1; }
[ -s "$out/report.png" ] || fail "no screenshot was made"
[ -s "$out/report.pdf" ] || fail "no PDF was printed"
grep -q '<svg' "$out/dom.html" || fail "the rendered page has no chart"
bars=$(grep -o '<rect' "$out/dom.html" | wc -l)
[ "$bars" -ge 3 ] || fail "the rendered page draws only $bars bars"
grep -qi '<script' "$out/dom.html" && fail "the rendered page has a script"

# Not blank: count the distinct RGB colours of the screenshot (a PNG decoded with zlib alone).
colours=$(python3 - "$out/report.png" <<'EOF'
import struct, sys, zlib
data = open(sys.argv[1], "rb").read()
assert data[:8] == b"\x89PNG\r\n\x1a\n"
pos, idat, width, height, bpp = 8, b"", 0, 0, 4
while pos < len(data):
    length, kind = struct.unpack(">I4s", data[pos:pos + 8])
    body = data[pos + 8:pos + 8 + length]
    if kind == b"IHDR":
        width, height, depth, colour = struct.unpack(">IIBB", body[:10])
        bpp = {2: 3, 6: 4}[colour]
    elif kind == b"IDAT":
        idat += body
    pos += 12 + length
raw = zlib.decompress(idat)
stride = width * bpp
prev = bytearray(stride)
seen = set()
for y in range(height):
    f = raw[y * (stride + 1)]
    line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
    for x in range(stride):
        a = line[x - bpp] if x >= bpp else 0
        b = prev[x]
        c = prev[x - bpp] if x >= bpp else 0
        if f == 1: line[x] = (line[x] + a) & 255
        elif f == 2: line[x] = (line[x] + b) & 255
        elif f == 3: line[x] = (line[x] + (a + b) // 2) & 255
        elif f == 4:
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
    if y % 4 == 0:
        for x in range(0, stride, bpp * 4):
            seen.add(bytes(line[x:x + 3]))
    prev = line
print(len(seen))
EOF
)
[ "$colours" -ge 8 ] || fail "the screenshot looks blank ($colours colours)"
echo "page: $out/report.html  screenshot: $out/report.png  pdf: $out/report.pdf"
echo "html check: ok ($bars bars drawn, $colours colours in the screenshot)"
