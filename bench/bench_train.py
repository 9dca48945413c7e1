"""`minidiff train all` measured: each speed-run's wall time, speed, FLOPs per step and MFU, then the quality bars.

    python bench/bench_train.py --out runs/all [--resume] [--skip-train] [--n 2000] [--json nbs/figures/train_all.json]

1. The CPU's peak: a 2048x2048 matmul in bf16 and in fp32 (GFLOP/s, best of 5), with the threads training uses.
2. `minidiff train all --out DIR` (skipped with --skip-train: the records already in DIR are read instead).
3. Each model's training FLOPs per step, counted by torch's `FlopCounterMode` as one step of its recipe's own train
   function (two steps minus one: what the function does before its first step is not counted); MFU is
   steps x FLOPs per step / training seconds / the peak of the precision it trained in.
4. Today's full recipes on the same machine: their digits (epochs x training set) at the speed-run's digits per second
   measured here (the same model and batch, so the same cost per digit): what one run after another would take.
5. The quality bars with the course's judge (the shipped `judge.pt`, the ruler of every figure in the course) at N:
   `minidiff evaluate denoiser|conditional --weights DIR`, and `bench/bench_prompts.py --weights DIR --only plain
   captioned`; the judge's, the autoencoder's and the encoders' figures are their records' (all 10,000 test digits).

Run it on an otherwise idle machine: two jobs on two cores make every speed figure worthless.
"""
import argparse, json, subprocess, sys, tempfile, time
from pathlib import Path
import torch
from torch.utils.flop_counter import FlopCounterMode

ROOT = Path(__file__).resolve().parents[1]

def peak(dtype, n=2048, reps=5)->float:
    "Best GFLOP/s of an n x n matmul in `dtype` (bf16 under autocast, as training runs it)."
    a, b = torch.randn(n, n), torch.randn(n, n)
    best = 0.
    for _ in range(reps + 1):
        with torch.autocast('cpu', torch.bfloat16, enabled=dtype == torch.bfloat16):
            t = time.perf_counter(); (a @ b).sum().item(); dt = time.perf_counter() - t
        best = max(best, 2*n**3/dt/1e9)
    return best

def step_flops(name:str, out:Path)->float:
    "FLOPs of one training step of recipe `name`'s speed-run: two steps counted minus one."
    from dataclasses import replace
    from minidiff import recipes
    r = recipes.RECIPES[name]
    kw = {**r.kwargs, **r.quick_kwargs, 'progress_bar': False}
    if r.needs: kw.update(ae=recipes.load(out/'autoencoder.pt', 'cpu'), clip=recipes.load(out/'clip.pt', 'cpu'))
    def count(steps):
        with FlopCounterMode(display=False) as fc:
            r.train_fn(r.config, replace(r.quick, max_steps=steps), device='cpu', **kw)
        return fc.get_total_flops()
    return count(2) - count(1)

def run(cmd:list)->str:
    print('$', ' '.join(cmd), flush=True)
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode: sys.exit(f'failed: {" ".join(cmd)}\n{p.stderr[-2000:]}')
    return p.stdout

def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--out', required=True, help='the folder train all writes (or has written, with --skip-train)')
    p.add_argument('--resume', action='store_true', help='train all --resume')
    p.add_argument('--skip-train', action='store_true', help='measure the records and weights already in --out')
    p.add_argument('--skip-quality', action='store_true', help='times and MFU only')
    p.add_argument('--n', type=int, default=2000, help='digits (and prompts of each kind) for the quality bars')
    p.add_argument('--json', default=None, help='write the results here too')
    a = p.parse_args()
    from minidiff import recipes
    from minidiff.core import cpu_kind
    from minidiff.data import training_digits
    out = Path(a.out)
    res = dict(command='python bench/bench_train.py ' + ' '.join(sys.argv[1:]), machine=cpu_kind(),
               threads=torch.get_num_threads(), date=time.strftime('%Y-%m-%d'))
    res['peak_gflops'] = dict(bf16=round(peak(torch.bfloat16)), fp32=round(peak(torch.float32)))
    print('peak GFLOP/s', res['peak_gflops'], flush=True)
    if not a.skip_train:
        t = time.perf_counter()
        recipes.train_all(out, a.resume)
        res['train_all_seconds'] = round(time.perf_counter() - t, 1)
    n_train = len(training_digits()[0])
    rows, total, old_total = {}, 0., 0.
    for name in recipes.ALL:
        m, r = torch.load(out/f'{name}.pt', weights_only=True)['meta'], recipes.RECIPES[name]
        flops = step_flops(name, out)
        secs, steps = m['wall_seconds'], m['steps']
        achieved = steps*flops/secs/1e9
        old_s = r.fit.epochs*n_train/m['digits_per_s']
        rows[name] = dict(seconds=secs, steps=steps, digits_per_s=m['digits_per_s'], bf16=m['bf16'],
                          gflop_per_step=round(flops/1e9, 2), gflops=round(achieved, 1),
                          mfu=round(achieved/res['peak_gflops']['bf16' if m['bf16'] else 'fp32'], 3),
                          full_recipe_seconds=round(old_s), figures={k: v for k, v in m.items() if k in FIGURES})
        total, old_total = total + secs, old_total + old_s
        print(name, rows[name], flush=True)
    res.update(models=rows, training_seconds=round(total, 1), full_recipes_seconds=round(old_total),
               speedup=round(old_total/total, 2))
    print(f'training {total:.0f} s against {old_total:.0f} s for the full recipes: {old_total/total:.1f}x', flush=True)
    if not a.skip_quality:
        q = {}
        for name in ('denoiser', 'conditional'):
            q[name] = json.loads(run([sys.executable, '-m', 'minidiff.cli', 'evaluate', name, '--weights', str(out), '--n', str(a.n), '--json']))
        with tempfile.TemporaryDirectory() as d:
            run([sys.executable, str(ROOT/'bench/bench_prompts.py'), '--weights', str(out), '--n', str(a.n),
                 '--only', 'plain', 'captioned', '--out', f'{d}/p.json'])
            pr = json.load(open(f'{d}/p.json'))
        q['pipeline'] = {k: pr[k] for k in ('plain', 'captioned') if k in pr}
        res['quality'] = q
        print(json.dumps(q, indent=1), flush=True)
    if a.json: Path(a.json).write_text(json.dumps(res, indent=1) + '\n')

# what the records keep that the bars read
FIGURES = ('test_accuracy', 'fid_ratio', 'class_accuracy', 'eval_n', 'accuracy_originals', 'accuracy_reconstructions',
           'fid_reconstructions', 'fid_originals', 'floor', 'test_mse', 'zero_shot_the_number', 'zero_shot_numerals',
           'zero_shot_training', 'zero_shot_held_out', 'accuracy_training', 'accuracy_held_out')

if __name__ == '__main__': main()
