"""Prompts as people type them (issue 23), judged by the course's own classifier, from one pipeline:

- plain prompts ("a seven", "7", "the number seven"), N/10 of each digit: right digit, FID against the floor at N, and
  the spread of ink and slant beside MNIST's test digits (guidance that pushes every digit to one typical seven shows
  here: a small spread, a large FID);
- captioned prompts (09's grammar, training-like and held-out, captions of test digits): right digit and FID;
- word forms training never writes ("the thickest seven" against "the thinnest seven", "a bigger" against "a smaller",
  plurals), and held-out synonyms ("chunky" against "slim"), from the same seed: the share of pairs that obey;
- misspelt digit words one edit away ("a sevn", "an eigth"), those training's typo augmentation writes and those it
  never writes, apart: right digit;
- the warm pipeline's time for 16 digits at 20 steps.

Run: python bench/bench_prompts.py [--n 2000] [--weights DIR] [--guidance G] [--interval LO HI] [--sweep G:LO:HI ...]
(on an otherwise idle machine). A sweep setting measures the plain prompts and the training-like captions only. Writes nbs/figures/prompts.json unless --out says otherwise."""
import argparse, json, random, sys, time
from pathlib import Path
import torch
from minidiff.core import cpu_kind
from minidiff.clip import DIGIT_WORDS, digit_properties, fix_articles
from minidiff.data import random_digits
from minidiff.judge import load_judge, predict, fid, fid_floor
from minidiff.pipeline import LatentDiffusionPipeline, GUIDANCE
from minidiff.lab import adherence_prompts, _batched, time_pipeline
sys.path.insert(0, str(Path(__file__).parent))
from bench_subwords import one_edit

PLAIN = ('a {w}', '{n}', 'the number {w}')
# word forms no caption of training writes: (property, the high side, the low side)
FORMS = [('ink', 'the thickest {d}', 'the thinnest {d}'), ('ink', 'a thicker {d}', 'a thinner {d}'),
         ('ink', 'a bolder {d}', 'a lighter {d}'), ('ink', 'a heavier {d}', 'a finer {d}'),
         ('area', 'a bigger {d}', 'a smaller {d}'), ('area', 'the biggest {d}', 'the smallest {d}'),
         ('area', 'a larger {d}', 'a tinier {d}'), ('area', 'the largest {d}', 'the littlest {d}'),
         ('ink', 'two thick {d}s', 'two thin {d}s'), ('area', 'big {d}s', 'small {d}s')]
SYNONYMS = [('ink', 'a chunky {d}', 'a slim {d}'), ('area', 'a giant {d}', 'a teeny {d}'),
            ('slant', 'a {d} slanting right', 'a {d} slanting left')]

def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--n', type=int, default=2000)
    p.add_argument('--weights', default=None, help='a folder of latent.pt, autoencoder.pt and clip.pt (default: shipped)')
    p.add_argument('--guidance', type=float, default=None, help='guidance scale (default: the pipeline\'s)')
    p.add_argument('--interval', type=float, nargs=2, default=None, help='guide only for noise levels in [LO, HI]')
    p.add_argument('--sweep', nargs='*', default=[], help='G or G:LO:HI settings: plain and captioned prompts only')
    p.add_argument('--against', default=None, help='another pipeline folder, timed in turn with this one (time section), '
                   'with the settings shipped before issue 23: guidance 1.75 at every noise level')
    p.add_argument('--only', nargs='*', default=None, help='sections: plain captioned forms typos time')
    p.add_argument('--out', default=str(Path(__file__).parents[1]/'nbs/figures/prompts.json'))
    a = p.parse_args()
    pipe = LatentDiffusionPipeline.from_pretrained(a.weights or 'latent', device='cpu')
    if a.weights: print('weights', a.weights, flush=True)
    judge, n = load_judge(), a.n
    kw = {} if a.guidance is None else dict(guidance_scale=a.guidance)
    if a.interval: kw['guidance_interval'] = tuple(a.interval)
    res = dict(command='python bench/bench_prompts.py ' + ' '.join(sys.argv[1:]), machine=cpu_kind(), n=n, settings=dict(kw))
    floor = fid_floor(judge, n)
    xr = random_digits(n, 0)[0]
    real = {k: digit_properties(xr)[k] for k in ('ink', 'slant')}
    res['mnist'] = {f'{k}_std': round(v.std().item(), 4) for k, v in real.items()}
    only = set(a.only or 'plain captioned forms typos time'.split())

    def plain(**kw):
        ds = [i % 10 for i in range(n)]
        ps = [PLAIN[(i // 10) % 3].format(w=DIGIT_WORDS[d], n=d) for i, d in enumerate(ds)]
        x = _batched(pipe, [fix_articles(q) for q in ps], **kw)*2 - 1
        pr = digit_properties(x)
        return dict(accuracy=round((predict(judge, x) == torch.tensor(ds)).float().mean().item(), 4),
                    fid_ratio=round(fid(judge, x)/floor, 3), ink_std=round(pr['ink'].std().item(), 4),
                    slant_std=round(pr['slant'].std().item(), 4))
    def captioned(kinds=('training', 'held_out'), **kw):
        out = {}
        for kind, held in (('training', False), ('held_out', True)):
            if kind not in kinds: continue
            ps, d = adherence_prompts(n, held, 0, pipe.clip)
            x = _batched(pipe, ps, **kw)*2 - 1
            out[f'accuracy_{kind}'] = round((predict(judge, x) == d).float().mean().item(), 4)
            out[f'fid_ratio_{kind}'] = round(fid(judge, x)/floor, 3)
        return out
    def pairs(table, per_digit, **kw):
        out = {}
        for prop, hi, lo in table:
            ds = [w for w in DIGIT_WORDS for _ in range(per_digit)]
            xh, xl = (digit_properties(_batched(pipe, [fix_articles(t.format(d=w)) for w in ds], **kw)*2 - 1)[prop] for t in (hi, lo))
            out[f'{hi} / {lo}'.replace('{d}', 'D')] = round((xh > xl).float().mean().item(), 4)
        return dict(share=round(sum(out.values())/len(out), 4), **out)
    def typos(per_digit, **kw):
        from minidiff.clip import held_out_typo   # issue 23's typo augmentation: absent before it
        rng, out = random.Random(0), {}
        for kind, keep in (('written_in_training', False), ('never_written', True)):
            ps, ds = [], []
            for d, w in enumerate(DIGIT_WORDS):
                ts = [t for t in one_edit(w) if held_out_typo(t) == keep]
                for t in rng.sample(ts, min(per_digit, len(ts))):
                    ps.append(fix_articles(rng.choice(('a {t}', 'the number {t}', 'draw a {t}')).format(t=t))); ds.append(d)
            x = _batched(pipe, ps, **kw)*2 - 1
            out[kind] = dict(n=len(ps), accuracy=round((predict(judge, x) == torch.tensor(ds)).float().mean().item(), 4),
                             examples=ps[:4])
        return out

    t0 = time.time()
    if 'plain' in only: res['plain'] = plain(**kw); print('plain', res['plain'], flush=True)
    if 'captioned' in only: res['captioned'] = captioned(**kw); print('captioned', res['captioned'], flush=True)
    for s in a.sweep:
        g, *iv = map(float, s.split(':'))
        skw = dict(guidance_scale=g, guidance_interval=tuple(iv) if iv else None)
        res.setdefault('sweep', {})[s] = dict(plain=plain(**skw), captioned=captioned(('training',), **skw))
        print('sweep', s, res['sweep'][s], flush=True)
    if 'forms' in only:
        res['word_forms'] = pairs(FORMS, max(1, n//100), **kw); print('forms', res['word_forms'], flush=True)
        res['held_out_synonyms'] = pairs(SYNONYMS, max(1, n//100), **kw); print('synonyms', res['held_out_synonyms'], flush=True)
    if 'typos' in only:
        try: res['typos'] = typos(max(1, n//100), **kw); print('typos', res['typos'], flush=True)
        except ImportError: res['typos'] = 'no typo augmentation in this version'
    if 'time' in only:
        tkw = {k: v for k, v in kw.items() if k != 'guidance_scale'}
        timed = lambda: round(time_pipeline(pipe, 'a thick seven', 16, 20, kw.get('guidance_scale', GUIDANCE), **tkw), 4)
        if a.against:   # both pipelines, three rounds in turn, so that a busy moment does not decide
            other = LatentDiffusionPipeline.from_pretrained(a.against, device='cpu')
            rounds = [(timed(), round(time_pipeline(other, 'a thick seven', 16, 20, 1.75, guidance_interval=None), 4)) for _ in range(3)]
            res['seconds_16_digits'] = dict(this=[r[0] for r in rounds], against=[r[1] for r in rounds], against_weights=a.against,
                                            ratio=round(sorted(r[0] for r in rounds)[1]/sorted(r[1] for r in rounds)[1], 3))
        else: res['seconds_16_digits'] = timed()
        print('time', res['seconds_16_digits'])
    res['wall_s'] = round(time.time() - t0)
    Path(a.out).write_text(json.dumps(res, indent=1) + '\n')
    print('wrote', a.out)

if __name__ == '__main__': main()
