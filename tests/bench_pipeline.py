"""Benchmark the latent pipeline against the targets of issue 7, judged by the course's own classifier:
class accuracy over the ten digits in six phrasings (three held out from training), FID and the floor at N digits,
"thick" against "thin" (and the held-out "bold" against "skinny") from the same seeds, 16 digits at 20 steps in a
warm pipeline and from a cold `minidiff generate`, and the size of all shipped weights.
Run: python tests/bench_pipeline.py [--n 2000] [--guidance 1.75] [--sweep 1.5 2 3 4]   (on an otherwise idle machine)
Writes nbs/figures/pipeline.json (shown in 11_pipeline) unless --out says otherwise."""
import argparse, json, os, platform, shutil, statistics, subprocess, sys, tempfile, time
from pathlib import Path
import torch
from minidiff.core import WEIGHTS_DIR, precision_report
from minidiff.pipeline import LatentDiffusionPipeline, adherence_report, thickness_check, time_pipeline

p = argparse.ArgumentParser()
p.add_argument('--n', type=int, default=2000, help='digits per measurement (default 2000)')
p.add_argument('--guidance', type=float, default=1.75, help='the guidance scale measured in full (default 1.75, the pipeline default)')
p.add_argument('--sweep', type=float, nargs='*', default=[], help='other guidance scales: class accuracy and FID only')
p.add_argument('--cold-runs', type=int, default=3, help='cold `minidiff generate` runs; the median is reported')
p.add_argument('--out', default=str(Path(__file__).parents[1]/'nbs/figures/pipeline.json'))
a = p.parse_args()

res = dict(command='python tests/bench_pipeline.py ' + ' '.join(sys.argv[1:]),
           machine=f'{platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, {torch.get_num_threads()} threads, '
                   f"CPU kind {precision_report('cpu')['cpu_capability']}, native bf16 {precision_report('cpu')['native_bf16']}, "
                   f"{precision_report('cpu')['precision']}")
t0 = time.perf_counter()
pipe = LatentDiffusionPipeline.from_pretrained(device='cpu')
res['adherence'] = adherence_report(pipe, a.n, guidance=a.guidance)
print(res['adherence'], flush=True)
for g in a.sweep:
    r = adherence_report(pipe, a.n, guidance=g)
    res[f'adherence_guidance_{g:g}'] = {k: r[k] for k in ('class_accuracy', 'accuracy_held_out_phrasings', 'fid', 'fid_ratio')}
    print(g, r, flush=True)
for words in (('thick', 'thin'), ('bold', 'skinny')):
    res['_'.join(words)] = thickness_check(pipe, a.n//20, words, guidance=a.guidance)
    print(res['_'.join(words)], flush=True)
res['warm_seconds_16_digits_20_steps'] = round(time_pipeline(pipe, n=16, steps=20, guidance=a.guidance), 3)
exe = shutil.which('minidiff')
cmd = ([exe] if exe else [sys.executable, '-c', 'from minidiff.cli import main; main()']) + \
      ['generate', 'a thick seven', '--n', '16', '--steps', '20', '--guidance', f'{a.guidance:g}', '--seed', '0']
ts = []
with tempfile.TemporaryDirectory() as d:
    for _ in range(a.cold_runs):
        t = time.perf_counter(); subprocess.run(cmd + ['-o', f'{d}/seven.png'], check=True, capture_output=True); ts.append(time.perf_counter() - t)
res['cold_cli_seconds_16_digits_20_steps'] = round(statistics.median(ts), 2)
res['shipped_weights_mb'] = round(sum(f.stat().st_size for f in WEIGHTS_DIR.glob('*.pt'))/1e6, 2)
res['bench_seconds'] = round(time.perf_counter() - t0)
print(json.dumps(res, indent=1))
Path(a.out).write_text(json.dumps(res, indent=1) + '\n')
