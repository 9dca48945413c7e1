"""The shipped judge against another judge (e.g. its recipe rerun: `minidiff train judge --out judge_fit.pt`), as
instruments: test accuracy, the FID floor at N = 2,000, and the FID ratio and class accuracy each gives the same
2,000 digits of the conditional model (guidance `GUIDANCE`, seed 0) and of the unconditional denoiser.
Run: python bench/bench_judge.py judge_fit.pt   (about 3 minutes on 2 cores)"""
import json, sys
import torch
from minidiff.judge import load_judge, fid, fid_floor, predict
from minidiff.conditional import load_conditional, generate_digits, GUIDANCE
from minidiff.denoiser import load_denoiser
from minidiff.samplers import generate
from minidiff.data import load_mnist, digits_to_float

other = sys.argv[1]
_, _, xt, yt = load_mnist(verbose=False)
xt, labels = digits_to_float(xt), torch.arange(2000) % 10
xc = generate_digits(load_conditional(device='cpu'), labels, 2000, 20, GUIDANCE, 'dpmpp_2m', seed=0, disable=True)
xd = generate(load_denoiser(device='cpu'), 2000, 20, 'dpmpp_2m', seed=0, disable=True)
for name in ('judge', other):
    j = load_judge(name, device='cpu')
    fl = fid_floor(j, 2000)
    print(name, json.dumps(dict(recipe=j.meta.get('recipe'), test_accuracy=round((predict(j, xt) == yt).float().mean().item(), 4),
                                floor=round(fl, 3), conditional_ratio=round(fid(j, xc)/fl, 3),
                                conditional_accuracy=round((predict(j, xc) == labels).float().mean().item(), 4),
                                denoiser_ratio=round(fid(j, xd)/fl, 3))), flush=True)
