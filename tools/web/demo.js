/* The home page's demo: fills <div id="minidiff-demo"> with a prompt box, a Draw button (Enter works too), seed,
   steps and guidance, and a 4x4 grid of the 16 digits that minidiff.js draws in the reader's browser; draws once
   on load. Bad input shows a message under the grid; nothing is thrown. Load it after minidiff.js. */
(function () {
  'use strict';
  const PROMPT = 'a thick seven', N = 16, COLS = 4, SIDE = 28, ZOOM = 4;
  const STYLE = `
#minidiff-demo { max-width: ${COLS * SIDE * ZOOM}px; }
#minidiff-demo form { display: flex; flex-wrap: wrap; gap: .5em; align-items: center; margin: 0 0 .6em; }
#minidiff-demo #minidiff-prompt { flex: 1 1 16em; min-width: 10em; padding: .3em .5em; font-size: 1.05em; }
#minidiff-demo #minidiff-draw { padding: .3em 1.2em; font-size: 1.05em; cursor: pointer; }
#minidiff-demo .minidiff-options { display: flex; flex-wrap: wrap; gap: 1em; margin: 0 0 .6em; font-size: .9em; }
#minidiff-demo .minidiff-options input { width: 5em; margin-left: .3em; }
#minidiff-demo #minidiff-canvas { display: block; width: ${COLS * SIDE * ZOOM}px; max-width: 100%;
  image-rendering: pixelated; background: #000; }
#minidiff-demo #minidiff-status { margin: .4em 0 0; font-size: .9em; opacity: .8; min-height: 1.3em; }
#minidiff-demo #minidiff-error { margin: .2em 0 0; color: #b00020; min-height: 1.3em; }
`;

  function el(tag, attrs = {}, ...kids) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
    e.append(...kids);
    return e;
  }

  const number = (id, value, attrs) => el('input', {id, type: 'number', value, ...attrs});

  function build(root) {
    if (!document.getElementById('minidiff-style')) document.head.append(el('style', {id: 'minidiff-style'}, STYLE));
    const ui = {
      prompt: el('input', {id: 'minidiff-prompt', type: 'text', value: PROMPT, placeholder: PROMPT,
                           'aria-label': 'What to draw', autocomplete: 'off', spellcheck: 'false'}),
      draw: el('button', {id: 'minidiff-draw', type: 'submit'}, 'Draw'),
      seed: number('minidiff-seed', 0, {step: 1}),
      steps: number('minidiff-steps', 4, {min: 1, max: 8, step: 1}),
      guidance: number('minidiff-guidance', 2, {min: 1, max: 3, step: 0.25}),
      canvas: el('canvas', {id: 'minidiff-canvas', width: COLS * SIDE * ZOOM, height: COLS * SIDE * ZOOM,
                            role: 'img', 'aria-label': 'Sixteen digits drawn for the prompt'}),
      status: el('p', {id: 'minidiff-status', 'aria-live': 'polite'}),
      error: el('p', {id: 'minidiff-error', role: 'alert'}),
    };
    ui.form = el('form', {id: 'minidiff-form'}, ui.prompt, ui.draw);
    const options = el('div', {class: 'minidiff-options'}, el('label', {}, 'seed', ui.seed),
                       el('label', {}, 'steps', ui.steps), el('label', {}, 'guidance', ui.guidance));
    root.replaceChildren(ui.form, options, ui.canvas, ui.status, ui.error);
    return ui;
  }

  /** A number input's value: an Error naming it when it is empty or not a number (the browser gives ''). */
  function value(input, name, hint) {
    const v = input.value.trim();
    if (v === '' || !Number.isFinite(Number(v))) throw new Error(`${name} is not a number: enter ${hint}`);
    return Number(v);
  }

  /** The digits (n*784 numbers in [0, 1]) as a 4x4 grid, each pixel a ZOOM x ZOOM square. */
  function paint(canvas, x) {
    const side = COLS * SIDE, small = document.createElement('canvas');
    small.width = small.height = side;
    const ctx = small.getContext('2d'), img = ctx.createImageData(side, side);
    for (let d = 0; d < N; d++) {
      const r0 = Math.floor(d / COLS) * SIDE, c0 = (d % COLS) * SIDE;
      for (let i = 0; i < SIDE * SIDE; i++) {
        const v = Math.round(255 * Math.min(1, Math.max(0, x[d * SIDE * SIDE + i])));
        const p = 4 * ((r0 + Math.floor(i / SIDE)) * side + c0 + i % SIDE);
        img.data[p] = img.data[p + 1] = img.data[p + 2] = v;
        img.data[p + 3] = 255;
      }
    }
    ctx.putImageData(img, 0, 0);
    const big = canvas.getContext('2d');
    big.imageSmoothingEnabled = false;
    big.drawImage(small, 0, 0, canvas.width, canvas.height);
  }

  /** What the status line adds about how the prompt was read. */
  function notes(r) {
    const out = Object.entries(r.fixes).map(([w, c]) => `read "${w}" as "${c}"`);
    if (r.leftOut.length) out.push(`left out words it never learned: ${r.leftOut.join(', ')}`);
    if (r.unknown.length) out.push(`words it cannot place: ${r.unknown.join(', ')}`);
    if (r.cut) out.push('prompt cut short');
    return out.length ? ` (${out.join('; ')})` : '';
  }

  function start() {
    const root = document.getElementById('minidiff-demo');
    if (!root) return;
    const md = window.minidiff;
    if (!md) {
      root.textContent = 'The demo needs minidiff.js, loaded before demo.js.';
      return;
    }
    const ui = build(root);
    let loaded = false;
    async function draw() {
      ui.error.textContent = '';
      let opts;
      try {
        opts = {n: N, seed: value(ui.seed, 'seed', 'an integer such as 0'),
                steps: value(ui.steps, 'steps', 'an integer from 1 to 8'),
                guidance: value(ui.guidance, 'guidance', 'a number from 1 to 3')};
      } catch (e) {
        ui.error.textContent = e.message;
        return;
      }
      ui.draw.disabled = true;
      try {
        if (!loaded) {
          ui.status.textContent = 'Loading the models (about 10 MB, once)...';
          await md.ready();
          loaded = true;
        }
        ui.status.textContent = 'Drawing...';
        const prompt = ui.prompt.value, t0 = performance.now();
        const x = await md.generate(prompt, opts);
        const s = (performance.now() - t0) / 1000;
        paint(ui.canvas, x);
        ui.status.textContent = `${N} digits in ${s.toFixed(2)} s${notes(md.read(prompt))}`;
      } catch (e) {
        ui.status.textContent = '';
        ui.error.textContent = e && e.message ? e.message : String(e);
      } finally {
        ui.draw.disabled = false;
      }
    }
    ui.form.addEventListener('submit', e => {
      e.preventDefault();
      draw();
    });
    draw();
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
