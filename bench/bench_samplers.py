"""FID and class accuracy of the shipped noise predictors against the number of model evaluations, per sampler.

Writes the table that 06_samplers shows (nbs/figures/samplers.json) and prints it. Rows: DDIM and DPM-Solver++(2M)
at 10, 20, 50 and 100 evaluations on N digits, and DDPM's original 1,000 steps on fewer digits (`--ddpm-n`: at
N=2,000 it would take about an hour of this CPU), for the unconditional model and for the conditional one with
classifier-free guidance, plus that model at DPM-Solver++ 20 steps with other guidance scales. The FID floor is given for each N: FIDs at different N are not comparable.

Run: python bench/bench_samplers.py [--n 2000] [--ddpm-n 500] [--guidance 1.35] [--out nbs/figures/samplers.json]
(on an otherwise idle machine: the seconds are wall-clock time).
"""
import argparse, json, time
from pathlib import Path
import torch
from minidiff.denoiser import load_denoiser
from minidiff.judge import load_judge, fid_floor
from minidiff.evaluate import evaluate
from minidiff.conditional import GUIDANCE

def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--n', type=int, default=2000)
    p.add_argument('--ddpm-n', type=int, default=500)
    p.add_argument('--guidance', type=float, default=GUIDANCE, help=f'for the conditional model (default {GUIDANCE})')
    p.add_argument('--guidances', default='1,1.25,2,3', help='other guidance scales for the conditional model, at DPM-Solver++ 20 steps')
    p.add_argument('--nfes', default='10,20,50,100')
    p.add_argument('--samplers', default='ddim,dpmpp_2m')
    p.add_argument('--models', default='denoiser,conditional')
    p.add_argument('--out', default=str(Path(__file__).parent.parent/'nbs'/'figures'/'samplers.json'))
    p.add_argument('--merge', action='store_true', help="keep the rows already in --out for the models not measured now (the measured models' rows are all replaced)")
    a = p.parse_args()
    print(f'torch {torch.__version__}, {torch.get_num_threads()} threads', flush=True)
    judge, rows = load_judge(), []
    cmd = 'python bench/bench_samplers.py ' + ' '.join(f'--{k.replace("_", "-")} {v}' for k, v in vars(a).items() if k not in ('out', 'merge'))
    floors = {n: round(fid_floor(judge, n), 2) for n in (a.n, a.ddpm_n) if n}
    runs = [(s, k, a.n) for s in a.samplers.split(',') for k in map(int, a.nfes.split(','))] + ([('ddpm', 1000, a.ddpm_n)] if a.ddpm_n else [])
    for name in a.models.split(','):
        model = load_denoiser(name)
        for sampler, steps, n in runs:
            t0 = time.perf_counter()
            r = evaluate(model, n, steps, sampler, seed=0, guidance=a.guidance, judge=judge, disable=True)
            row = dict(model=name, sampler=sampler, evals=steps, n=n, fid=round(r['fid'], 2), floor=floors[n],
                       fid_ratio=round(r['fid']/floors[n], 2), class_accuracy=r.get('class_accuracy'),
                       guidance=a.guidance if model.cfg.n_classes else None, seconds_per_1000=r['seconds_per_1000'], command=cmd)
            rows.append(row)
            print(json.dumps(row), f'({time.perf_counter() - t0:.0f} s)', flush=True)
    for g in (map(float, a.guidances.split(',')) if 'conditional' in a.models and a.guidances else []):
        r = evaluate(model, a.n, 20, 'dpmpp_2m', seed=0, guidance=g, judge=judge, disable=True)
        row = dict(model='conditional', sampler='dpmpp_2m', evals=20, n=a.n, fid=round(r['fid'], 2), floor=floors[a.n],
                   fid_ratio=round(r['fid']/floors[a.n], 2), class_accuracy=r['class_accuracy'], guidance=g,
                   seconds_per_1000=r['seconds_per_1000'], command=cmd)
        rows.append(row)
        print(json.dumps(row), flush=True)
    out = Path(a.out); out.parent.mkdir(parents=True, exist_ok=True)
    if a.merge and out.exists():
        measured = set(a.models.split(','))
        rows = [r for r in json.loads(out.read_text())['rows'] if r['model'] not in measured] + rows
    json.dump(dict(torch=torch.__version__, threads=torch.get_num_threads(), rows=rows), open(out, 'w'), indent=1)
    print(f'wrote {out}')

if __name__ == '__main__': main()
