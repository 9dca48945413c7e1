"""The noise predictors' speed-run choices, one at a time: train a variant, measure it at N = 2,000 with the judge.

    python bench/bench_speedruns.py --tag c3_minsnr --classes 10 --epochs 3 --ema 0.998 --snr-gamma 5 --p-uncond 0.2
    python bench/bench_speedruns.py --tag d3 --classes 0 --epochs 3 --ema 0.998 --snr-gamma 5
    python bench/bench_speedruns.py --tag c3_from_d3 --classes 10 --epochs 3 --ema 0.998 --snr-gamma 5 --init d3.pt

Each run trains 03's UNet (or 07's, with --classes 10) with `train_denoiser` and `fit`, saves it as TAG.pt in --dir,
and measures it with the course's judge at N digits, DPM-Solver++ 20 steps: FID against the floor and class accuracy
at guidance 1.35 and 1.5 for a conditional model, and FID of its digits told no label (the unconditional path).
One JSON line per run is appended to --results (stored in nbs/figures/speedruns.jsonl, shown in 85_recipes).
Run it alone on the machine: its training seconds are part of the result.
"""
import argparse, json, sys, time
from pathlib import Path
import torch
from minidiff.core import cpu_kind, load_weights, save_weights
from minidiff.denoiser import UNet, UNetConfig, train_denoiser
from minidiff.evaluate import evaluate
from minidiff.fit import FitConfig
from minidiff.judge import load_judge, fid, fid_floor
from minidiff.samplers import generate

def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--tag', required=True)
    p.add_argument('--classes', type=int, default=10, help='10: the conditional model; 0: the unconditional one')
    p.add_argument('--epochs', type=float, default=3)
    p.add_argument('--lr', type=float, default=3e-3)
    p.add_argument('--bs', type=int, default=128)
    p.add_argument('--ema', type=float, default=0.998)
    p.add_argument('--snr-gamma', type=float, default=None, help='min-SNR-gamma weighting (default: plain MSE)')
    p.add_argument('--p-uncond', type=float, default=0.1)
    p.add_argument('--init', default=None, help='start from these weights (a file in --dir, or a path)')
    p.add_argument('--n', type=int, default=2000)
    p.add_argument('--dir', default='/tmp/speedruns')
    p.add_argument('--results', default=str(Path(__file__).parents[1]/'nbs/figures/speedruns.jsonl'))
    a = p.parse_args()
    d = Path(a.dir); d.mkdir(parents=True, exist_ok=True)
    cfg = UNetConfig(n_classes=a.classes)
    fc = FitConfig(epochs=a.epochs, bs=a.bs, lr=a.lr, warmup=0.02, ema=a.ema)
    init = None
    if a.init:
        path = d/a.init if (d/a.init).exists() else Path(a.init)
        init = load_weights(path, UNet, UNetConfig, 'cpu')
    t0 = time.perf_counter()
    model, hist = train_denoiser(cfg, fc, p_uncond=a.p_uncond, snr_gamma=a.snr_gamma, init=init, progress_bar=False)
    secs = time.perf_counter() - t0
    save_weights(model, d/f'{a.tag}.pt', cfg)
    res = dict(tag=a.tag, command='python bench/bench_speedruns.py ' + ' '.join(sys.argv[1:]), machine=cpu_kind(),
               train_seconds=round(secs), digits_per_s=round(hist['digits_per_s']), n=a.n)
    judge = load_judge()
    if a.classes:
        for g in (1.35, 1.5):
            r = evaluate(model, a.n, 20, guidance=g, judge=judge, disable=True)
            res[f'guidance_{g}'] = dict(fid_ratio=r['fid_ratio'], class_accuracy=r['class_accuracy'])
    x = generate(model, a.n, 20, 'dpmpp_2m', seed=0, disable=True)
    res['unconditional_fid_ratio'] = round(fid(judge, x)/fid_floor(judge, a.n), 3)
    print(json.dumps(res), flush=True)
    with open(a.results, 'a') as f: f.write(json.dumps(res) + '\n')

if __name__ == '__main__': main()
