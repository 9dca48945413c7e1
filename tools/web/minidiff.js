/* minidiff's text-to-digit pipeline in the reader's browser: prompt -> text encoder -> few-step student on the
   latents -> decoder, the three ONNX models that tools/export_web.py writes, run by onnxruntime-web's wasm backend.
   A plain script (no bundler): load ort.wasm.min.js before it; it finds the models beside its own `src`. The models
   load once, when first needed, and run in a worker (ORT's proxy), a few digits a run: the page never freezes.

     minidiff.ready()                    a Promise: the models are loaded (once, lazily; later calls share it)
     minidiff.generate(prompt, {n: 16, steps: 4, guidance: 2, seed: 0, noise: null})
                                         a Promise of a Float32Array of n*784 numbers in [0, 1]: digit after
                                         digit, each 28 rows of 28; bad input rejects with an Error saying what works
     minidiff.tokenize(prompt)           token ids as Python's `clip.tokenizer(prompt)[0].tolist()`: [L][1+G]
     minidiff.respell(prompt)            the prompt as the Python pipeline respells it ('a sevn' -> 'a seven')
     minidiff.read(prompt)               {prompt: respelt, fixes: {sevn: 'seven'}, leftOut: ['pretty'], unknown: [...],
                                         cut: false}
     minidiff.noise(seed, count)         the standard normal numbers `generate` draws for a seed
     minidiff.timings                    ms in each model during the last `generate`: {text, student: [...], decoder}
   tokenize, respell and read need the spec: after `await minidiff.loadSpec()` (or `ready()`).

   `noise`, for tests, replaces the seeded noise: steps*n*196 numbers, first the starting noise [n,4,7,7], then
   the fresh noise [n,4,7,7] added after each step but the last; the order in which the Python pipeline draws
   them from its generator, so that `torch.randn` numbers given here draw the pipeline's digits. */
(function (root) {
  'use strict';
  const script = typeof document !== 'undefined' ? document.currentScript : null;
  // the spec, models and ORT's files lie beside this script, whatever the depth of the page that loads it
  const BASE = script && script.src ? script.src.slice(0, script.src.lastIndexOf('/') + 1) : './';
  const WASM_GZ = 'ort-wasm-simd-threaded.wasm.gz';
  const BATCH = 32;       // digits a model run: the memory stays the same however many are asked for
  const MAX_N = 256;
  const OPTIONS = ['n', 'steps', 'guidance', 'seed', 'noise'];
  const LETTERS = 'abcdefghijklmnopqrstuvwxyz';
  // Python's ASCII whitespace (`str.isspace`, `re`'s \s): JavaScript's \s lacks \x1c-\x1f
  const WS = '\\t\\n\\v\\f\\r \\x1c-\\x1f';
  const DROPPED = new RegExp(`[^a-z0-9${WS}-]`, 'g');
  const SPACES = new RegExp(`[${WS}]+`);
  const WORDS = new RegExp(`[a-z]+|[0-9]|[^${WS}a-z0-9]`, 'g');

  let spec = null, tok = null, specP = null, readyP = null, sessions = null;
  let queue = Promise.resolve();     // one generation at a time: an ORT session runs one call at once
  let timings = null;                // ms in each model during the last `generate`: {text, student: [...], decoder}

  // ---- the tokenizer (minidiff/clip.py) ----
  /** Lower case, accents dropped ('Sevén' -> 'seven'), other characters beyond ASCII left out: Python's `fold`. */
  const fold = text => text.toLowerCase().normalize('NFKD').replace(/[^\x00-\x7f]/g, '');
  /** Single spaces, punctuation read as a space (the hyphen aside): Python's `normalise`. */
  const normalise = text => fold(text).replace(DROPPED, ' ').split(SPACES).filter(Boolean).join(' ');
  /** Words, digits and punctuation marks: Python's `split_words`. */
  const splitWords = text => fold(text).match(WORDS) || [];
  const pieces = text => splitWords(normalise(text));
  /** fastText's character n-grams of `word`, '<' and '>' marking its ends: Python's `ngrams`. */
  function ngrams(word, [lo, hi] = [3, 6]) {
    const w = `<${word}>`, out = [];
    for (let k = lo; k <= hi; k++) for (let i = 0; i + k <= w.length; i++) out.push(w.slice(i, i + k));
    return out;
  }

  /** Use a spec (spec.json's contents) for the tokenizer and spelling: `loadSpec` calls it; Node tests may. */
  function useSpec(s, english) {
    const t = s.tokenizer, sp = t.specials;
    if (!Array.isArray(english)) throw new Error('minidiff: useSpec needs the English words (english.txt.gz) too');
    spec = s;
    tok = {
      pad: sp.indexOf('<pad>'), bos: sp.indexOf('<bos>'), eos: sp.indexOf('<eos>'), unk: sp.indexOf('<unk>'),
      stoi: new Map([...sp, ...t.words].map((w, i) => [w, i])),
      gtoi: new Map(t.grams.map((g, i) => [g, i + 1])),            // 0 pads
      n: t.n, maxLen: t.max_len, seen: new Map(),
      known: new Set(s.known),
      digits: s.digit_words,
      rank: new Map(english.map((w, i) => [w, i])),               // English, most frequent first
      nearDigits: new Map(),                                       // a string one edit from a digit's word -> those
    };
    for (const d of tok.digits) for (const e of edits1(d)) tok.nearDigits.set(e, [...(tok.nearDigits.get(e) || []), d]);
    tok.formWords = [...s.known].filter(w => !tok.digits.includes(w)).sort();
    tok.stemsOf = new Map(tok.formWords.map(w => [w, stems(w)]));
    return spec;
  }

  function need() {
    if (!tok) throw new Error('minidiff: the spec is not loaded yet; `await minidiff.loadSpec()` (or ready()) first');
    return tok;
  }

  /** The ids of the n-grams of `w` that the vocabulary's words have. */
  function wordGrams(w) {
    const t = need();
    if (!t.seen.has(w)) t.seen.set(w, ngrams(w, t.n).filter(g => t.gtoi.has(g)).map(g => t.gtoi.get(g)));
    return t.seen.get(w);
  }

  /** Token ids of one prompt, [L][1+G], as Python's `SubwordTokenizer`: each row a word's id, then the ids of its
      known n-grams, 0-padded; <bos> and <eos> first and last; cut to max_len tokens. */
  function tokenize(prompt) {
    const t = need();
    const ws = pieces(prompt).slice(0, t.maxLen - 2);
    const rows = [[t.bos, []], ...ws.map(w => [t.stoi.has(w) ? t.stoi.get(w) : t.unk, wordGrams(w)]), [t.eos, []]];
    const G = Math.max(...rows.map(r => r[1].length));
    return rows.map(([id, g]) => [id, ...g, ...new Array(G - g.length).fill(0)]);
  }

  // ---- spelling (minidiff/spelling.py): 'a sevn' is drawn as 'a seven', 'a pretty seven' as 'a seven' ----
  /** Every string one edit from `w`: a letter dropped, two neighbours swapped, one replaced or one added. */
  function edits1(w) {
    const out = new Set();
    for (let i = 0; i <= w.length; i++) {
      const a = w.slice(0, i), b = w.slice(i);
      if (b) out.add(a + b.slice(1));
      if (b.length > 1) out.add(a + b[1] + b[0] + b.slice(2));
      for (const c of LETTERS) {
        if (b) out.add(a + c + b.slice(1));
        out.add(a + c + b);
      }
    }
    out.delete(w);
    return out;
  }

  const SUFFIXES = ['s', 'es', 'd', 'ed', 'r', 'er', 'st', 'est', 'ing', 'ly'];
  /** `word` and what it may be a form of, by its ending ('bigger': big, 'tinier': tiny): Python's `stems`. */
  function stems(word) {
    const out = new Set([word]);
    for (const s of SUFFIXES) {
      const b = word.slice(0, word.length - s.length);
      if (!word.endsWith(s) || b.length < 3) continue;
      out.add(b); out.add(b + 'e');
      if (b[b.length - 1] === b[b.length - 2]) out.add(b.slice(0, -1));
      if (b[b.length - 1] === 'i') out.add(b.slice(0, -1) + 'y');
    }
    return out;
  }
  const meets = (a, b) => [...a].some(x => b.has(x));
  /** The known word (not a digit's) that `word` is a form of, or null: Python's `form_of`. */
  function formOf(word) {
    const t = need(), mine = stems(word);
    return t.formWords.find(w => w !== word && meets(t.stemsOf.get(w), mine)) ?? null;
  }
  /** The digit's word `word` is one edit from or a form of, the most frequent if several: Python's `digit_of`. */
  function digitOf(word) {
    const t = need(), near = new Set(t.nearDigits.get(word) || []);
    for (const s of stems(word)) if (t.digits.includes(s)) near.add(s);
    const key = d => t.rank.has(d) ? t.rank.get(d) : t.digits.length;
    return [...near].sort((a, b) => key(a) - key(b) || (a < b ? -1 : a > b ? 1 : 0))[0] ?? null;
  }
  const named = ws => new Set(ws.filter(w => /^[0-9]$/.test(w) || need().digits.includes(w))
    .map(w => /^[0-9]$/.test(w) ? w : String(need().digits.indexOf(w))));

  /** The word each misspelt word is read as: Python's `spell` (a digit's word first where the prompt names no digit,
      then the model's words, then English, by frequency; never another digit than those named). */
  function spell(words, digits) {
    const t = need(), out = new Map();
    const allowed = new Set([...digits].map(d => t.digits[+d]));
    const last = t.rank.size;
    for (const w of new Set(words)) {
      if (w.length < 2 || !/^[a-z]+$/.test(w) || t.known.has(w) || t.rank.has(w)) continue;
      let near = [...edits1(w)].filter(c => (t.known.has(c) && c.length >= 3 && /^[a-z]+$/.test(c)) || t.rank.has(c));
      if (digits.size) near = near.filter(c => !t.digits.includes(c) || allowed.has(c));
      const wanted = new Set(near.filter(c => t.digits.includes(c) && !digits.size));
      if (w.length < 3) near = [...wanted];
      const key = c => [wanted.has(c) ? 0 : 1, t.known.has(c) ? 0 : 1, t.rank.has(c) ? t.rank.get(c) : last];
      const cmp = (a, b) => {
        const ka = key(a), kb = key(b);
        for (let i = 0; i < 3; i++) if (ka[i] !== kb[i]) return ka[i] - kb[i];
        return a < b ? -1 : a > b ? 1 : 0;
      };
      if (near.length) out.set(w, near.sort(cmp)[0]);
    }
    return out;
  }

  /** How a prompt's new words are read: Python's `read_prompt` (misspellings corrected, English never: a form of a
      known word read from its letters, any other left out; no word adds a digit; a prompt naming none reads one). */
  function readPrompt(prompt) {
    const t = need(), ws = splitWords(prompt);
    const digits = named(ws.filter(w => t.known.has(w)));
    const fresh = [...new Set(ws)].filter(w => /^[a-z]+$/.test(w) && !t.known.has(w));
    const r = {fixes: new Map(), asDigit: new Map(), leftOut: [], forms: []}, eng = new Map();
    for (const [w, c] of spell(fresh, digits)) (t.known.has(c) ? r.fixes : eng).set(w, c);
    for (const w of fresh) if (t.rank.has(w)) eng.set(w, w);
    for (const d of named([...r.fixes.values()])) digits.add(d);
    const found = new Map();
    for (const [w, e] of eng) {
      const d = digitOf(e);
      if (d !== null && !digits.size) found.set(w, d);
      else if (d !== null && stems(e).has(d) && digits.has(String(t.digits.indexOf(d)))) r.forms.push(w);
      else if (d === null && formOf(e) !== null) r.forms.push(w);
      else r.leftOut.push(w);
      if (w !== e && r.forms.includes(w)) r.fixes.set(w, e);
    }
    if (found.size) {      // one digit: from the English word least likely meant as itself, the rarest
      const w = [...found.keys()].reduce((a, b) => {
        const ra = t.rank.get(eng.get(a)), rb = t.rank.get(eng.get(b));
        return rb > ra || (rb === ra && b > a) ? b : a;
      });
      r.asDigit.set(w, found.get(w));
      found.delete(w);
      r.leftOut.push(...found.keys());
    }
    return r;
  }
  /** Each word read as another, or as nothing (''): Python's `Reading.changes`. */
  const changes = r => new Map([...r.fixes, ...r.asDigit, ...r.leftOut.map(w => [w, ''])]);

  /** The prompt as the pipeline draws it: Python's `respell(p, prompt_fixes(p, pipe.known))`. */
  function respell(prompt) {
    const fixes = changes(readPrompt(prompt)), ws = splitWords(prompt);
    if (!ws.some(w => fixes.has(w))) return prompt;
    return ws.map(w => fixes.has(w) ? fixes.get(w) : w).filter(Boolean).join(' ');
  }

  /** How a prompt is read: respelt, the words read as others, those left out, the words the encoder cannot place,
      and whether it was cut. */
  function read(prompt) {
    const t = need(), r = readPrompt(prompt), respelt = respell(prompt), ws = pieces(respelt);
    const unknown = [...new Set(ws.filter(w => /[a-z0-9]/.test(w) && !t.stoi.has(w) && !wordGrams(w).length))];
    return {prompt: respelt, fixes: Object.fromEntries([...r.fixes, ...r.asDigit]), leftOut: r.leftOut, unknown,
            cut: ws.length > t.maxLen - 2};
  }

  // ---- noise ----
  /** `count` standard normal numbers for `seed`: mulberry32, then Box-Muller (not torch's numbers, but the same
      for a seed in every browser). */
  function noise(seed, count) {
    let a = (seed >>> 0) ^ Math.imul(Math.floor(seed / 4294967296) >>> 0, 0x9e3779b9);   // the seed's 53 bits
    const next = () => {
      a = (a + 0x6d2b79f5) | 0;
      let t = Math.imul(a ^ (a >>> 15), 1 | a);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
    const out = new Float32Array(count);
    for (let i = 0; i < count; i += 2) {
      const r = Math.sqrt(-2 * Math.log(1 - next())), th = 2 * Math.PI * next();     // 1 - u: never log(0)
      out[i] = r * Math.cos(th);
      if (i + 1 < count) out[i + 1] = r * Math.sin(th);
    }
    return out;
  }

  // ---- loading ----
  async function fetchBytes(name) {
    const url = BASE + name;
    let r;
    try { r = await fetch(url); } catch (e) { throw new Error(`minidiff: could not load ${url} (${e.message})`); }
    if (!r.ok) throw new Error(`minidiff: could not load ${url} (HTTP ${r.status})`);
    return new Uint8Array(await r.arrayBuffer());
  }

  /** Bytes unzipped, unless a server that sent them with Content-Encoding: gzip has unzipped them already. */
  async function gunzip(b) {
    if (b[0] !== 0x1f || b[1] !== 0x8b) return b.buffer;
    if (typeof DecompressionStream === 'undefined') {
      throw new Error('minidiff: this browser cannot unzip the demo\'s files (no DecompressionStream); ' +
                      'a recent Chrome, Edge, Firefox or Safari can');
    }
    return new Response(new Blob([b]).stream().pipeThrough(new DecompressionStream('gzip'))).arrayBuffer();
  }

  /** Load spec.json and the English words: enough for tokenize, respell, read and the checks of `generate`. */
  function loadSpec() {
    const text = b => new TextDecoder().decode(b);
    if (!specP) specP = fetchBytes('spec.json').then(async b => {
      const s = JSON.parse(text(b));
      return useSpec(s, text(await gunzip(await fetchBytes(s.english))).split('\n'));
    });
    specP.catch(() => { specP = null; });         // a failed load may be tried again
    return specP;
  }

  /** ORT's wasm binary, stored gzipped (14.8 MB -> 3.8 MB). */
  const wasmBinary = async () => gunzip(await fetchBytes(WASM_GZ));

  async function load() {
    const ort = root.ort;
    if (!ort || !ort.InferenceSession) {
      throw new Error('minidiff: onnxruntime-web is not loaded: include ort.wasm.min.js before minidiff.js');
    }
    await loadSpec();
    // threads need SharedArrayBuffer, which only a cross-origin isolated page has
    ort.env.wasm.numThreads = root.crossOriginIsolated ? Math.min(4, navigator.hardwareConcurrency || 1) : 1;
    ort.env.wasm.proxy = true;                  // the models run in a worker: the page answers while they run
    ort.env.wasm.wasmPaths = BASE;              // ort-wasm-simd-threaded.mjs: from this site, never a CDN
    const [binary, ...models] = await Promise.all([wasmBinary(), ...['text', 'fewstep', 'decoder'].map(
      k => fetchBytes(spec.models[k]))]);
    ort.env.wasm.wasmBinary = binary;
    const opts = {executionProviders: ['wasm'], graphOptimizationLevel: 'all'};
    const s = {};
    // one after the other: the first starts the wasm runtime
    for (const [k, m] of [['text', models[0]], ['fewstep', models[1]], ['decoder', models[2]]]) {
      s[k] = await ort.InferenceSession.create(m, opts);
    }
    sessions = s;
  }

  /** A Promise that resolves when the models are loaded (loading them the first time). */
  function ready() {
    if (!readyP) readyP = load().catch(e => { readyP = null; throw e; });
    return readyP;
  }

  // ---- checks ----
  const show = v => typeof v === 'string' ? JSON.stringify(v) : Array.isArray(v) ? '[array]' : String(v);

  function checkPrompt(prompt) {
    if (typeof prompt !== 'string') {
      throw new TypeError(`prompt: expected a string such as "a thick seven"; got ${show(prompt)}`);
    }
    if (!prompt.trim()) throw new Error('prompt is empty: say which digit to draw, e.g. "a thick seven"');
    const r = read(prompt), t = need();
    if (!pieces(r.prompt).some(w => /[a-z0-9]/.test(w) && (t.stoi.has(w) || wordGrams(w).length))) {
      const left = r.leftOut.length ? ` (it never learned ${r.leftOut.join(', ')})` : '';
      throw new Error(`prompt ${show(prompt)}: no word the text encoder ${left ? 'knows' : 'can read'}${left}; it ` +
                      'reads English words such as "a thick seven", "the number 3 leaning right" or "a tiny 0"');
    }
    return r.prompt;
  }

  function checkOptions(opts) {
    if (opts === null || typeof opts !== 'object' || Array.isArray(opts)) {
      throw new TypeError('options: expected an object such as {n: 16, steps: 4, guidance: 2, seed: 0}; ' +
                          `got ${show(opts)}`);
    }
    const bad = Object.keys(opts).filter(k => !OPTIONS.includes(k));
    if (bad.length) {
      throw new Error(`unknown option ${bad.map(show).join(', ')}: expected some of ${OPTIONS.join(', ')}`);
    }
    const g = spec.guidance, o = {n: 16, steps: spec.default_steps, guidance: g.default, seed: 0, noise: null};
    for (const k of OPTIONS) if (opts[k] !== undefined) o[k] = opts[k];
    const {n, steps, guidance, seed} = o;
    if (!Number.isInteger(n) || n < 1 || n > MAX_N) {
      throw new Error(`n must be an integer from 1 to ${MAX_N} (digits to draw); got ${show(n)}`);
    }
    if (!Number.isInteger(steps) || steps < 1 || steps > spec.max_steps) {
      throw new Error(`steps must be an integer from 1 to ${spec.max_steps} (the few-step student's steps; ` +
                      `${spec.default_steps} by default); got ${show(steps)}`);
    }
    if (typeof guidance !== 'number' || !(guidance >= g.lo && guidance <= g.hi)) {
      throw new Error(`guidance must be a number from ${g.lo} to ${g.hi} (the scales the few-step student was ` +
                      `distilled for; ${g.default} by default); got ${show(guidance)}`);
    }
    if (!Number.isSafeInteger(seed)) throw new Error(`seed must be an integer such as 0; got ${show(seed)}`);
    const want = steps * n * 196;
    if (o.noise !== null) {
      const z = o.noise;
      if (!(z instanceof Float32Array || z instanceof Float64Array || Array.isArray(z)) || z.length !== want ||
          !Array.prototype.every.call(z, Number.isFinite)) {
        throw new Error(`noise must be ${want} finite numbers (steps*n*196: the starting noise, then each step's ` +
                        `fresh noise) or null; got ${z && z.length !== undefined ? z.length + ' values' : show(z)}`);
      }
      o.noise = Float32Array.from(z);
    }
    return o;
  }

  // ---- sampling ----
  // a task boundary between model runs, so that a long drawing never holds the page's turn (a MessageChannel: no 4 ms
  // clamp, as setTimeout has)
  const tick = () => new Promise(resolve => {
    const c = new MessageChannel();
    c.port1.onmessage = () => { c.port1.close(); resolve(); };
    c.port2.postMessage(0);
  });

  /** `a` (a typed array) `m` times over, one copy a digit of the batch. */
  function repeat(a, m) {
    const out = new a.constructor(a.length * m);
    for (let i = 0; i < m; i++) out.set(a, i * a.length);
    return out;
  }
  const filled = (m, v) => new Float32Array(m).fill(v);

  async function sample(prompt, {n, steps, guidance, seed, noise: z}) {
    const ort = root.ort, D = 196, P = 784;
    const ids = tokenize(prompt);
    // the word's id and at least one n-gram column (0s, which the model skips): no empty axis for ORT
    const L = ids.length, C = Math.max(2, ids[0].length);
    const flat = BigInt64Array.from(ids.flatMap(r => [...r, ...new Array(C - r.length).fill(0)]), BigInt);
    const ms = {text: 0, student: new Array(steps).fill(0), decoder: 0};
    let t0 = performance.now();
    const {ctx, pooled} = await sessions.text.run({ids: new ort.Tensor('int64', flat, [1, L, C])});
    ms.text = performance.now() - t0;
    const mask = Uint8Array.from(ids, r => r[0] !== tok.pad ? 1 : 0);
    const W = ctx.dims[2], {sigma, t} = spec.steps[steps];
    z = z || noise(seed, steps * n * D);
    const out = new Float32Array(n * P);
    for (let b = 0; b < n; b += BATCH) {
      const m = Math.min(BATCH, n - b), scale = Math.sqrt(sigma[0] ** 2 + 1);    // the pipeline's `init_noise`
      let x = z.slice(b * D, (b + m) * D).map(v => v * scale), x0;
      for (let i = 0; i < steps; i++) {
        // new arrays for every run: the worker takes the ones it is sent
        const feeds = {x: new ort.Tensor('float32', x, [m, 4, 7, 7]),
                       sigma: new ort.Tensor('float32', filled(m, sigma[i]), [m]),
                       t: new ort.Tensor('float32', filled(m, t[i]), [m]),
                       ctx: new ort.Tensor('float32', repeat(ctx.data, m), [m, L, W]),
                       mask: new ort.Tensor('bool', repeat(mask, m), [m, L]),
                       pooled: new ort.Tensor('float32', repeat(pooled.data, m), [m, W]),
                       guidance: new ort.Tensor('float32', filled(m, guidance), [m])};
        t0 = performance.now();
        x0 = (await sessions.fewstep.run(feeds)).x0.data;
        ms.student[i] += performance.now() - t0;
        if (sigma[i + 1] > 0) {                  // noised afresh to the next level; none after the last
          const off = ((i + 1) * n + b) * D;
          x = x0.map((v, j) => v + sigma[i + 1] * z[off + j]);
        }
        await tick();
      }
      t0 = performance.now();
      out.set((await sessions.decoder.run({latents: new ort.Tensor('float32', x0, [m, 4, 7, 7])})).digits.data, b * P);
      ms.decoder += performance.now() - t0;
      await tick();
    }
    timings = ms;
    return out;
  }

  /** The pooled prompt vector [W] (a unit vector) of one prompt: the text encoder alone. */
  async function embed(prompt) {
    const ids = tokenize(prompt), L = ids.length, C = Math.max(2, ids[0].length);
    const flat = BigInt64Array.from(ids.flatMap(r => [...r, ...new Array(C - r.length).fill(0)]), BigInt);
    return (await sessions.text.run({ids: new root.ort.Tensor('int64', flat, [1, L, C])})).pooled.data;
  }

  let digitVecs = null;
  /** Which of `words` (none a word it knows) the encoder reads as a digit's word, as Python's `read_as`: each alone,
      nearest of the ten digits' words and the empty prompt, a digit's, and at least `spec.read_as` close. */
  async function readAs(words) {
    if (!digitVecs) digitVecs = await Promise.all([...tok.digits, ''].map(embed));
    const out = {};
    for (const w of words) {
      const v = await embed(w);
      const sims = digitVecs.map(d => d.reduce((s, x, i) => s + x * v[i], 0));
      const best = sims.indexOf(Math.max(...sims));
      if (best < tok.digits.length && sims[best] >= spec.read_as) out[w] = tok.digits[best];
    }
    return out;
  }

  /** A prompt with no word the encoder knows is refused, unless it reads one of them as a digit's word ('sevvenn'). */
  async function checkWords(prompt, respelt) {
    const ws = pieces(respelt).filter(w => /[a-z0-9]/.test(w));
    if (ws.some(w => tok.stoi.has(w))) return;
    const read = await readAs(ws.filter(w => wordGrams(w).length));
    if (Object.keys(read).length) return;
    throw new Error(`prompt ${show(prompt)}: no word the text encoder knows (${ws.join(', ')}); it reads English ` +
                    'words such as "a thick seven", "the number 3 leaning right" or "a tiny 0"');
  }

  /** Digits for `prompt`: a Promise of a Float32Array of n*784 numbers in [0, 1], digit after digit, row by row. */
  async function generate(prompt, opts = {}) {
    await loadSpec();
    const p = checkPrompt(prompt), o = checkOptions(opts);
    await ready();
    // the session runs one call at a time: the word check and the drawing wait their turn
    const run = queue.then(async () => { await checkWords(prompt, p); return sample(p, o); });
    queue = run.catch(() => {});
    return run;
  }

  const api = {ready, loadSpec, useSpec, generate, tokenize, respell, read, noise, BASE,
               get spec() { return spec; }, get timings() { return timings; }, _text: {fold, normalise, splitWords, ngrams, edits1, stems}};
  root.minidiff = api;
  if (typeof module !== 'undefined' && module.exports) module.exports = api;
})(typeof window !== 'undefined' ? window : globalThis);
