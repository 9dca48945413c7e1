"""The text-to-digit pipeline for the reader's browser: three ONNX models (text encoder, few-step student, decoder),
`spec.json` (what the JavaScript needs besides them: the tokenizer, the words for spelling, the noise levels),
`english.txt.gz` (the English dictionary's words, most frequent first, for spelling), and onnxruntime-web's wasm
backend, its 14.8 MB binary shipped gzipped.

Run: `python tools/export_web.py [--out _docs/_static/minidiff]` (after `npm ci --prefix tools`).
`tools/build_site.py` imports it: `build_web(dest)` fills `dest`, `DEMO_HTML` goes on the home page."""
from __future__ import annotations
import argparse, gzip, json, shutil, time, warnings
from pathlib import Path
import numpy as np, onnx, torch
from onnx import TensorProto, helper, numpy_helper
from torch import nn
import torch.nn.functional as F
import minidiff
from minidiff.autoencoder import load_autoencoder
from minidiff.clip import DIGIT_WORDS, SubwordTokenizer, load_clip
from minidiff.fewstep import DEFAULT_STEPS, LEVELS, MAX_STEPS, fewstep_sigmas, teacher_sigmas
from minidiff.pipeline import GUIDANCE, load_unet
from minidiff.spelling import READ_AS, english_ranks
from minidiff.samplers import sigma_to_t

TOOLS = Path(__file__).resolve().parent
WEB = TOOLS/'web'                                                   # minidiff.js and demo.js
ORT = TOOLS/'node_modules'/'onnxruntime-web'
ORT_FILES = ('ort.wasm.min.js', 'ort-wasm-simd-threaded.mjs')       # the wasm backend alone, and its loader
WASM = 'ort-wasm-simd-threaded.wasm'                                # shipped as WASM + '.gz'
JS_FILES = ('minidiff.js', 'demo.js')
ENGLISH = 'english.txt.gz'                                         # `english_ranks()`' words, in order
MODELS = ('text.onnx', 'fewstep.onnx', 'decoder.onnx')
OPSET = 18

# What the site's home page holds: the script finds the models beside its own `src`, from any page depth
DEMO_HTML = """<div id="minidiff-demo"><noscript>The demo draws digits with JavaScript.</noscript></div>
<script src="_static/minidiff/ort.wasm.min.js"></script>
<script src="_static/minidiff/minidiff.js"></script>
<script src="_static/minidiff/demo.js"></script>
"""

class TextModel(nn.Module):
    "Token ids [B,L,1+G] -> (ctx [B,L,D], pooled [B,D] unit vector): `prompt_features`, the mask left to the JS."
    def __init__(self, clip):
        super().__init__()
        self.text = clip.text
    def forward(self, ids):
        h = self.text.token_features(ids)                                          # (B, L, D)
        # the last real token is <eos>; gather, not indexing by arange(B), keeps the batch axis dynamic
        eos = ((ids[..., 0] != 0).sum(1) - 1).view(-1, 1, 1).expand(-1, 1, h.shape[-1])
        return h, F.normalize(self.text.proj(h.gather(1, eos)[:, 0]), dim=-1)

class FewStepModel(nn.Module):
    "`FewStepUNet.denoise` with the step `t` of each noise level given (the JS has no schedule): x0 [B,4,7,7]."
    def __init__(self, unet):
        super().__init__()
        self.unet, self.sd = unet, unet.cfg.sigma_data
    def forward(self, x, sigma, t, ctx, mask, pooled, guidance):
        s2 = sigma.view(-1, 1, 1, 1)**2 + self.sd**2                               # (B, 1, 1, 1)
        out = self.unet(x/s2.sqrt(), t, (ctx, mask, pooled, guidance))            # F, (B, 4, 7, 7)
        return x*self.sd**2/s2 + out*sigma.view(-1, 1, 1, 1)*self.sd/s2.sqrt()

class DecoderModel(nn.Module):
    "Scaled latents [B,4,7,7] -> digits [B,1,28,28] in [0, 1], as the pipeline's `from_pm1(vae.decode(z))`."
    def __init__(self, vae):
        super().__init__()
        self.decoder, self.scale = vae.decoder, float(vae.scale)
    def forward(self, latents): return ((self.decoder(latents/self.scale).clamp(-1, 1) + 1)/2).clamp(0, 1)

def half_weights(model:onnx.ModelProto, min_size:int=16)->onnx.ModelProto:
    """Each float32 initializer of `min_size` numbers or more that float16 holds exactly (the weights, rounded
    before export, and their transposes; not constants such as the sinusoidal embedding's frequencies) stored as
    float16 and cast back to float32 at the start of the graph: half the bytes, the same float32 arithmetic."""
    casts = []
    for init in model.graph.initializer:
        if init.data_type != TensorProto.FLOAT: continue
        a = numpy_helper.to_array(init)
        if a.size < min_size or not np.array_equal(a.astype(np.float16).astype(np.float32), a): continue
        name = init.name
        init.CopyFrom(numpy_helper.from_array(a.astype(np.float16), f'{name}_fp16'))
        casts.append(helper.make_node('Cast', [f'{name}_fp16'], [name], name=f'{name}_cast', to=TensorProto.FLOAT))
    nodes = casts + list(model.graph.node)
    del model.graph.node[:]
    model.graph.node.extend(nodes)
    return model

def strip(model:onnx.ModelProto)->onnx.ModelProto:
    """`model` without what the exporter notes for debugging: each node's stack trace (with this machine's
    paths), module names and FX node, and the shapes of intermediate values (ORT infers them again)."""
    g = model.graph
    for n in g.node:
        del n.metadata_props[:]
        n.doc_string = ''
    for v in (*g.input, *g.output, *g.initializer): del v.metadata_props[:]
    del g.value_info[:], model.metadata_props[:]
    return model

def _export(module:nn.Module, args:tuple, path:Path, inputs:list, outputs:list, dynamic:dict):
    """One module to an ONNX file with float16 weights, checked. `dynamic`: each input's dynamic axes by name,
    as {axis: name}."""
    dims = {}                                                                      # one `Dim` per axis name
    shapes = tuple({a: dims.setdefault(n, torch.export.Dim(n)) for a, n in dynamic[i].items()} for i in inputs)
    # torch.export (dynamo): the TorchScript exporter bakes the batch size into TransformerEncoder's attention
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter('ignore')
        torch.onnx.export(module.eval(), args, str(path), input_names=inputs, output_names=outputs,
                          dynamic_shapes=shapes, opset_version=OPSET, dynamo=True, external_data=False, verbose=False)
    model = half_weights(strip(onnx.load(str(path))))
    onnx.checker.check_model(model, full_check=True)
    onnx.save(model, str(path))

def half_rounded(m:nn.Module)->nn.Module:
    """`m` with its float weights rounded through float16 (in place): the exported models hold them so, and
    `half_weights` knows them from the constants the exporter folds by their fitting float16 exactly."""
    with torch.no_grad():
        for p in m.parameters(): p.copy_(p.half().float())
    return m

def load_models(unet='fewstep')->tuple:
    """The student, the text encoder and the autoencoder the browser runs, on the CPU, in float32. The student's
    weights are rounded through float16 (the shipped file holds them so already: nothing changes) and exported so;
    the encoders' float32 weights stay float32 (0.75 MB more, and the browser's digits are the pipeline's)."""
    model = load_unet(unet, 'cpu')
    if not hasattr(model, 'denoise'):
        raise ValueError(f"unet {unet!r}: the browser runs a few-step student (unet='fewstep', or a weights file "
                         "that `minidiff train fewstep` wrote); a noise predictor needs 20 guided steps")
    clip = load_clip(device='cpu')
    if not isinstance(clip.tokenizer, SubwordTokenizer):
        raise ValueError('the browser reads prompts as the shipped text encoder does, by words and their n-grams; '
                         f'this one reads {clip.tokenizer.kind}')
    return half_rounded(model.eval()), clip.eval(), load_autoencoder(device='cpu').eval()

def _steps(model, k:int)->dict:
    "The noise levels `k` steps visit and the model's step at each, as the pipeline computes them."
    sig = fewstep_sigmas(model, k)
    # `denoise` takes the level as float32, then `sigma_to_t` of that
    t = sigma_to_t(sig[:-1].float(), model.sched).float()
    return dict(sigma=sig.tolist(), t=t.tolist())

def make_spec(model, clip, vae)->dict:
    "What the JavaScript needs besides the models."
    tok, cfg = clip.tokenizer, model.cfg
    sig = teacher_sigmas(model.sched)
    t = sigma_to_t(sig.float(), model.sched).float()                  # as `denoise` computes it from float32
    levels = [dict(level=l, sigma=sig[l].item(), t=t[l].item()) for l in LEVELS]
    ort_version = json.loads((ORT/'package.json').read_text())['version'] if (ORT/'package.json').exists() else None
    return dict(
        # a word's id: 4 + its place in `words`; an n-gram's: 1 + its place in `grams`
        tokenizer=dict(specials=list(tok.specials), words=tok.words, grams=tok.grams, n=list(tok.n),
                       max_len=tok.max_len),
        known=sorted(tok.words),                      # the words for spelling (`LatentDiffusionPipeline.known`)
        digit_words=list(DIGIT_WORDS),
        read_as=READ_AS,                              # how close a new word's vector is to a digit's to read as it
        english=ENGLISH,                              # the English words, a line each, the most frequent first
        levels=levels, steps={k: _steps(model, k) for k in range(1, MAX_STEPS + 1)},
        max_steps=MAX_STEPS, default_steps=DEFAULT_STEPS,
        guidance=dict(lo=cfg.guidance_lo, hi=cfg.guidance_hi, default=GUIDANCE),
        sigma_data=cfg.sigma_data, latent_shape=list(vae.latent_shape), image_shape=[1, 28, 28],
        models=dict(text=MODELS[0], fewstep=MODELS[1], decoder=MODELS[2]),
        versions=dict(minidiff=minidiff.__version__, torch=torch.__version__, onnx=onnx.__version__,
                      opset=OPSET, onnxruntime_web=ort_version))

def export_models(out:Path, unet='fewstep')->dict:
    """Write `text.onnx`, `fewstep.onnx`, `decoder.onnx`, `spec.json` and `english.txt.gz` to `out`; returns their
    sizes in bytes."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    model, clip, vae = load_models(unet)
    tok, (C, H, W), D = clip.tokenizer, vae.latent_shape, model.cfg.ctx_dim
    ids = tok(['a thick seven', 'the number 3 leaning right'])                       # (2, L, 1+G)
    B, L = ids.shape[:2]
    _export(TextModel(clip), (ids,), out/MODELS[0], ['ids'], ['ctx', 'pooled'],
            dict(ids={0: 'batch', 1: 'length', 2: 'grams'}, ctx={0: 'batch', 1: 'length'}, pooled={0: 'batch'}))
    x, s = torch.randn(B, C, H, W), torch.tensor([80., 2.5])
    args = (x, s, sigma_to_t(s, model.sched).float(), torch.randn(B, L, D), ids[..., 0] != 0,
            F.normalize(torch.randn(B, D), dim=-1), torch.tensor([2., 1.5]))
    batch = dict(x={0: 'batch'}, sigma={0: 'batch'}, t={0: 'batch'}, ctx={0: 'batch', 1: 'length'},
                 mask={0: 'batch', 1: 'length'}, pooled={0: 'batch'}, guidance={0: 'batch'}, x0={0: 'batch'})
    _export(FewStepModel(model), args, out/MODELS[1], list(batch)[:-1], ['x0'], batch)
    _export(DecoderModel(vae), (x,), out/MODELS[2], ['latents'], ['digits'],
            dict(latents={0: 'batch'}, digits={0: 'batch'}))
    (out/'spec.json').write_text(json.dumps(make_spec(model, clip, vae), separators=(',', ':')))
    write_english(out/ENGLISH)
    return {f: (out/f).stat().st_size for f in (*MODELS, 'spec.json', ENGLISH)}

def write_english(path:Path):
    "The English words in `english_ranks()`' order (by frequency), a line each, gzipped (the same bytes each time)."
    with open(path, 'wb') as raw, gzip.GzipFile(ENGLISH[:-3], 'wb', 9, raw, mtime=0) as gz:
        gz.write('\n'.join(english_ranks()).encode())

def build_web(dest:Path, unet='fewstep')->dict:
    """Everything the demo needs, in `dest` (the site's `_static/minidiff/`): the models and spec, `minidiff.js`
    and `demo.js`, onnxruntime-web's wasm backend; returns each file's size in bytes."""
    dist = ORT/'dist'
    missing = [f for f in (*ORT_FILES, WASM) if not (dist/f).is_file()]
    if missing:
        raise FileNotFoundError(f'{dist} has no {", ".join(missing)}: run `npm ci --prefix tools` to install '
                                'onnxruntime-web (pinned in tools/package.json)')
    dest = Path(dest)
    sizes = export_models(dest, unet)
    for f in JS_FILES: shutil.copyfile(WEB/f, dest/f)
    for f in ORT_FILES: shutil.copyfile(dist/f, dest/f)
    # mtime 0: the same bytes at every build
    with open(dest/f'{WASM}.gz', 'wb') as raw, gzip.GzipFile(WASM, 'wb', 9, raw, mtime=0) as gz:
        gz.write((dist/WASM).read_bytes())
    return {**sizes, **{f: (dest/f).stat().st_size for f in (*JS_FILES, *ORT_FILES, f'{WASM}.gz')}}

def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--out', default='_docs/_static/minidiff', help='where to write (default: %(default)s)')
    p.add_argument('--unet', default='fewstep', help='the few-step student: a shipped name or weights file')
    a = p.parse_args()
    t0 = time.perf_counter()
    sizes = build_web(Path(a.out), a.unet)
    for f, n in sizes.items(): print(f'{f:36} {n/1e6:7.3f} MB')
    models = sum(sizes[f] for f in MODELS)
    print(f'{"models":36} {models/1e6:7.3f} MB\n{"total":36} {sum(sizes.values())/1e6:7.3f} MB')
    print(f'built {a.out} in {time.perf_counter() - t0:.1f} s')

if __name__ == '__main__': main()
