"""Benchmark the latent pipeline against the targets of issues 7 and 14, judged by the course's own classifier:
class accuracy for N training-like and N held-out prompts (09's caption grammar: requests, descriptions, synonyms,
fillers), FID of the training-like digits against the floor at N, every synonym pair ("a bold D" against "a skinny D"
from the same seeds, training and held-out words), prompts with two or three attributes (each word against its
opposite), 16 digits at 20 steps in a warm pipeline and from a cold `minidiff generate`, and the size of the shipped weights.
Run: python bench/bench_pipeline.py [--n 2000] [--guidance 2.5] [--sweep 1.5 2 3] [--unet PATH --clip PATH]
(on an otherwise idle machine). Writes nbs/figures/pipeline.json (shown in 11_pipeline) unless --out says otherwise."""
import argparse, json, os, platform, shutil, statistics, subprocess, sys, tempfile, time
from pathlib import Path
import torch
from minidiff.core import WEIGHTS_DIR, precision_report
from minidiff.pipeline import LatentDiffusionPipeline, GUIDANCE, GUIDANCE_INTERVAL
from minidiff.lab import adherence_report, attribute_pairs, multi_attribute_check, time_pipeline

p = argparse.ArgumentParser()
p.add_argument('--n', type=int, default=2000, help='prompts per measurement (default 2000)')
p.add_argument('--guidance', type=float, default=GUIDANCE, help=f'the guidance scale measured in full (default {GUIDANCE:g}, the pipeline\'s; '
               f'every call guides only for sigma in {GUIDANCE_INTERVAL}, the pipeline\'s default interval)')
p.add_argument('--sweep', type=float, nargs='*', default=[], help='other guidance scales: class accuracy and FID only')
p.add_argument('--unet', default='latent', help='the noise predictor (default: the shipped one)')
p.add_argument('--clip', default='clip', help='the text encoder (default: the shipped one)')
p.add_argument('--cold-runs', type=int, default=3, help='cold `minidiff generate` runs; the median is reported (0: skip)')
p.add_argument('--out', default=str(Path(__file__).parents[1]/'nbs/figures/pipeline.json'))
a = p.parse_args()

pr = precision_report('cpu')
res = dict(command='python bench/bench_pipeline.py ' + ' '.join(sys.argv[1:]), guidance_interval=GUIDANCE_INTERVAL,
           machine=f"{platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, {torch.get_num_threads()} threads, "
                   f"CPU kind {pr['cpu_capability']}, native bf16 {pr['native_bf16']}, {pr['precision']}")
t0 = time.perf_counter()
pipe = LatentDiffusionPipeline.from_pretrained(unet=a.unet, clip=a.clip, device='cpu')
res['adherence'] = adherence_report(pipe, a.n, guidance=a.guidance)
print(res['adherence'], flush=True)
for g in a.sweep:
    r = adherence_report(pipe, a.n, guidance=g)
    res[f'adherence_guidance_{g:g}'] = {k: r[k] for k in ('accuracy_training', 'accuracy_held_out', 'fid', 'fid_ratio')}
    print(g, r, flush=True)
per_digit = max(1, a.n//100)                                   # n/10 pairs of digits for each pair of words (20 of each digit at n = 2000)
for kind, held in (('training', False), ('held_out', True)):
    r = attribute_pairs(pipe, per_digit, held, guidance=a.guidance)
    res[f'synonym_pairs_{kind}'] = dict(pairs_per_word_pair=10*per_digit, share=round(sum(r.values())/len(r), 4), **r)
    print(kind, res[f'synonym_pairs_{kind}'], flush=True)
res['multi_attribute'] = multi_attribute_check(pipe, a.n//2, guidance=a.guidance)
print(res['multi_attribute'], flush=True)
res['warm_seconds_16_digits_20_steps'] = round(time_pipeline(pipe, n=16, steps=20, guidance=a.guidance), 3)
if a.cold_runs:
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
