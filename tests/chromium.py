"""What the browser tests share: Debian's Chromium, the flags it runs with here, and the home page demo's digits read
back from its canvas. Not a test file (pytest collects only test_*.py); the tests import it by name."""
CHROMIUM = '/usr/bin/chromium'
# no background networking, component updates or sync: nothing leaves the machine (this one refuses such connections)
CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
                 '--disable-component-update', '--disable-sync']

# the demo's canvas is a 4x4 grid of 28x28 digits, each pixel a z x z square: one pixel of each square, in [0, 1]
_CANVAS = '''() => { const c = document.querySelector('#minidiff-canvas');
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data, z = c.width / 112, out = [];
    for (let k = 0; k < 16; k++) for (let i = 0; i < 28; i++) for (let j = 0; j < 28; j++)
        out.push(d[4*(((k >> 2)*28 + i)*z*c.width + ((k & 3)*28 + j)*z)] / 255);
    return out; }'''

def canvas_digits(page):
    "The 16 digits [16,1,28,28] in [-1, 1] that the demo's canvas on `page` shows."
    import torch
    return torch.tensor(page.evaluate(_CANVAS)).view(16, 1, 28, 28)*2 - 1
