"""`fit` against the five training loops it replaced: the same recipe for the same number of steps, side by side.

    python bench/bench_fit.py [--steps 200] [--rev 9b7a431] [--only denoiser,judge] [--json nbs/figures/fit_vs_loops.json]

The old loops are read from git (`git archive REV minidiff`) into a temporary package, so this runs on any later checkout.
For each recipe it prints digits per second (training steps only, same precision, same batch size) and the training
loss: the mean over the first and the last 50 steps. The arithmetic is not identical: `fit` takes a first step at
peak/warmup where the old loops took a step at learning rate 0, it shuffles with its own generator, and the judge's
one-cycle schedule became warm-up and cosine decay; so the losses agree closely, not to the bit.
"""
import argparse, importlib, json, os, subprocess, sys, tempfile, time
from pathlib import Path
import torch

ROOT = Path(__file__).resolve().parents[1]

def old_package(rev:str)->str:
    "Extract `minidiff/` at `rev` as the package `minidiff_old` in a temporary folder; returns the folder (for sys.path)."
    d = tempfile.mkdtemp()
    tar = subprocess.run(['git', '-C', str(ROOT), 'archive', rev, 'minidiff'], capture_output=True, check=True).stdout
    subprocess.run(['tar', '-x', '-C', d], input=tar, check=True)
    os.rename(f'{d}/minidiff', f'{d}/minidiff_old')
    return d

def summary(losses:list, seconds:float, steps:int, bs:int)->dict:
    k = min(50, len(losses))
    return dict(first50=round(sum(losses[:k])/k, 4), last50=round(sum(losses[-k:])/k, 4), digits_per_s=round(steps*bs/seconds))

def run(name:str, steps:int, old)->dict:
    from dataclasses import replace
    from minidiff import denoiser, judge, autoencoder, clip, latent, conditional
    q = dict(progress_bar=False)
    if name in ('denoiser', 'conditional'):
        cfg = denoiser.UNetConfig(n_classes=10 if name == 'conditional' else 0)
        _, h0 = old.denoiser.train_denoiser(old.denoiser.UNetConfig(n_classes=cfg.n_classes), old.denoiser.TrainConfig(max_steps=steps), **q)
        _, h1 = denoiser.train_denoiser(cfg, replace(denoiser.DENOISER_FIT, max_steps=steps), **q)
        bs, l0, l1 = 128, h0['losses'], h1['losses']
    elif name == 'judge':
        _, h0 = old.judge.train_judge(tcfg=old.judge.JudgeTrainConfig(max_steps=steps), **q)
        _, h1 = judge.train_judge(fcfg=replace(judge.JUDGE_FIT, max_steps=steps), **q)
        bs, l0, l1 = 128, h0['losses'], h1['losses']
        extra = dict(test_accuracy_old=round(h0['test_accuracy'], 4), test_accuracy_fit=round(h1['test_accuracy'], 4))
    elif name == 'autoencoder':
        _, h0 = old.autoencoder.train_autoencoder(tcfg=old.autoencoder.AETrainConfig(max_steps=steps, n_scale=1000, n_test=1000), **q)
        _, h1 = autoencoder.train_autoencoder(fcfg=replace(autoencoder.AE_FIT, max_steps=steps), n_scale=1000, n_test=1000, **q)
        bs, l0, l1 = 128, h0['mse'], h1['mse']
        extra = dict(test_mse_old=round(h0['test_mse'], 5), test_mse_fit=round(h1['test_mse'], 5))
    elif name == 'clip':
        _, h0 = old.clip.train_clip(tcfg=old.clip.ClipTrainConfig(max_steps=steps), **q)
        _, h1 = clip.train_clip(fcfg=replace(clip.CLIP_FIT, max_steps=steps), **q)
        bs, l0, l1 = 256, h0['losses'], h1['losses']
    elif name == 'latent':
        _, h0 = old.latent.train_latent(tcfg=old.latent.LatentTrainConfig(max_steps=steps), **q)
        _, h1 = latent.train_latent(fcfg=replace(latent.LATENT_FIT, max_steps=steps), **q)
        bs, l0, l1 = 128, h0['losses'], h1['losses']
    else: raise ValueError(name)
    res = dict(recipe=name, steps=steps, old=summary(l0, h0['seconds'], len(l0), bs), fit=summary(l1, h1['seconds'], h1['steps'], bs))
    res['speed_ratio'] = round(res['fit']['digits_per_s']/res['old']['digits_per_s'], 3)
    return {**res, **(extra if name in ('judge', 'autoencoder') else {})}

if __name__ == '__main__':
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--steps', type=int, default=200)
    p.add_argument('--rev', default='9b7a431', help='the commit with the five old loops')
    p.add_argument('--only', default='denoiser,conditional,judge,autoencoder,clip,latent')
    p.add_argument('--json', default=None, help='also write the rows to this file')
    a = p.parse_args()
    sys.path.insert(0, old_package(a.rev))
    old = importlib.import_module('minidiff_old')
    for m in ('denoiser', 'judge', 'autoencoder', 'clip', 'latent'): setattr(old, m, importlib.import_module(f'minidiff_old.{m}'))
    from minidiff.core import precision_report
    pr = precision_report()
    head = dict(torch=torch.__version__, threads=torch.get_num_threads(), cpu_kind=pr['cpu_capability'], native_bf16=pr['native_bf16'],
                precision=pr['precision'], device=pr['device'], old_rev=a.rev, date=time.strftime('%Y-%m-%d'))
    print(json.dumps(head), flush=True)
    rows = []
    for name in a.only.split(','):
        rows.append(run(name, a.steps, old)); print(json.dumps(rows[-1]), flush=True)
    if a.json: Path(a.json).write_text(json.dumps(dict(**head, rows=rows), indent=1) + '\n')
