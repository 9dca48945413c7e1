"""fp32 against bf16 autocast on this machine: one training step of every recipe and warm sampling.

Prints the CPU kind, the precision `minidiff.core` chooses, and for each workload the speed in both precisions,
which is faster, and how far the default is from the faster one (the target: never more than 15% slower).
With `--quality`, it also measures the shipped models' output in both precisions (N = 2,000, two seeds each): the
conditional pixel model's FID and class accuracy, and the latent pipeline's `adherence_report`; fp32 should match bf16
within the seed-to-seed spread. Run it on an otherwise idle machine:
`python bench/bench_precision.py [--quality] [--out nbs/figures/precision_KIND.json]`.
"""
import argparse, json, statistics, sys, time
import torch
import torch.nn.functional as F
from minidiff.core import default_device, use_bf16, precision_report
from minidiff.noise import make_schedule
from minidiff.denoiser import UNet, UNetConfig, diffusion_loss
from minidiff.judge import Judge, JudgeConfig, augment
from minidiff.autoencoder import Autoencoder, AEConfig, ae_loss
from minidiff.clip import load_clip, clip_loss
from minidiff.latent import LATENT, prompt_features

def _timed(fn, n:int, dev)->float:
    "Median seconds of `n` calls of `fn` after two warm-up calls."
    fn(); fn()
    ts = []
    for _ in range(n):
        if dev.type == 'cuda': torch.cuda.synchronize()
        t0 = time.perf_counter(); fn()
        if dev.type == 'cuda': torch.cuda.synchronize()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts)

def _step(model, loss_fn, bf16:bool, dev):
    "One optimiser step of `model` on `loss_fn()` under the given precision."
    opt = torch.optim.AdamW(model.parameters(), 1e-4)
    def step():
        with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=bf16): loss = loss_fn()
        opt.zero_grad(set_to_none=True); loss.backward(); opt.step()
    return step

def training_workloads(dev, bs:int=128)->dict:
    "name -> (digits per step, a function of bf16 that builds one training step) for every recipe."
    g = torch.Generator().manual_seed(0)
    x = (torch.rand(bs, 1, 28, 28, generator=g)*2 - 1).to(dev)
    y = torch.randint(0, 10, (bs,), generator=g).to(dev)
    sched = make_schedule()
    def unet(n_classes):
        def build(bf16):
            torch.manual_seed(0); m = UNet(UNetConfig(n_classes=n_classes)).to(dev)
            return _step(m, lambda: diffusion_loss(m, x, sched, y if n_classes else None, 0.1), bf16, dev)
        return build
    def judge(bf16):
        torch.manual_seed(0); m = Judge(JudgeConfig()).to(dev).train()
        return _step(m, lambda: F.cross_entropy(m(augment(x)).float(), y), bf16, dev)
    def ae(bf16):
        torch.manual_seed(0); m = Autoencoder(AEConfig()).to(dev).train()
        return _step(m, lambda: ae_loss(m, x)[0], bf16, dev)
    clip = load_clip(device=dev)
    caps = [f'a thick {w}' for w in ('zero one two three four five six seven eight nine'.split()*64)][:256]
    ids, x256 = clip.tokenizer(caps).to(dev), (torch.rand(256, 1, 28, 28, generator=g)*2 - 1).to(dev)
    def clip_step(bf16):
        m = load_clip(device=dev).train()
        return _step(m, lambda: clip_loss(m.logits(x256, ids)), bf16, dev)
    c = prompt_features(clip, clip.tokenizer(caps[:bs]).to(dev))
    z = torch.randn(bs, 4, 7, 7, generator=g).to(dev)
    def latent(bf16):
        torch.manual_seed(0); m = UNet(LATENT).to(dev)
        return _step(m, lambda: diffusion_loss(m, z, sched, c), bf16, dev)
    return dict(denoiser=(bs, unet(0)), conditional=(bs, unet(10)), judge=(bs, judge), autoencoder=(bs, ae),
                autoencoder_plain=None, clip=(256, clip_step), latent=(bs, latent))

def sampling_workloads(dev)->dict:
    "name -> a function of bf16 that builds one warm sampling call."
    from minidiff.pipeline import LatentDiffusionPipeline
    from minidiff.conditional import load_conditional, generate_digits, GUIDANCE
    pipes = {}
    def pipe(bf16):
        p = pipes.setdefault(bf16, LatentDiffusionPipeline.from_pretrained(device=dev, bf16=bf16))
        return lambda: p('a thick seven', 20, 1.75, num_images_per_prompt=16, disable=True)
    cond = load_conditional(device=dev)
    def pixel(bf16): return lambda: generate_digits(cond, 7, 16, 20, GUIDANCE, 'dpmpp_2m', seed=0, disable=True, bf16=bf16)
    return {'pipeline, 16 digits, 20 steps': pipe, 'conditional pixel model, 16 digits, 20 steps': pixel}

def quality(dev, n:int=2000, seeds=(0, 1))->list:
    "FID and class accuracy of the shipped models' digits in fp32 and in bf16, for each seed."
    from minidiff.evaluate import evaluate
    from minidiff.conditional import load_conditional, GUIDANCE
    from minidiff.judge import load_judge
    from minidiff.pipeline import LatentDiffusionPipeline
    from minidiff.lab import adherence_report
    judge, cond, rows = load_judge(device=dev), load_conditional(device=dev), []
    for bf16 in (False, True):
        pipe = LatentDiffusionPipeline.from_pretrained(device=dev, bf16=bf16)
        for s in seeds:
            r = evaluate(cond, n, seed=s, judge=judge, disable=True, bf16=bf16)
            rows.append(dict(model=f'conditional (guidance {GUIDANCE}, DPM-Solver++ 20)', precision='bf16' if bf16 else 'fp32', seed=s,
                             fid=r['fid'], fid_ratio=r['fid_ratio'], class_accuracy=r['class_accuracy']))
            r = adherence_report(pipe, n, seed=s, judge=judge)
            rows.append(dict(model='latent pipeline (guidance 1.75, DPM-Solver++ 20)', precision='bf16' if bf16 else 'fp32', seed=s,
                             fid=r['fid'], fid_ratio=r['fid_ratio'], accuracy_training=r['accuracy_training'],
                             accuracy_held_out=r['accuracy_held_out']))
            print(rows[-2], rows[-1], sep='\n', flush=True)
    return rows

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--repeats', type=int, default=5, help='timed calls per workload and precision (median)')
    p.add_argument('--out', default=None, help='also write the figures to this JSON file')
    p.add_argument('--quality', action='store_true', help="also the shipped models' FID and class accuracy in both precisions")
    p.add_argument('--skip-speed', action='store_true', help='only the quality figures')
    a = p.parse_args(argv)
    dev = default_device()
    rep = precision_report(dev)
    print(' | '.join(f'{k}: {v}' for k, v in rep.items()))
    auto = use_bf16(dev)
    rows = []
    def measure(kind, name, build, per_call):
        secs = {b: _timed(build(b), a.repeats, dev) for b in (False, True)}
        best = min(secs.values())
        row = dict(kind=kind, name=name, fp32_s=round(secs[False], 4), bf16_s=round(secs[True], 4),
                   faster='bf16' if secs[True] < secs[False] else 'fp32', default='bf16' if auto else 'fp32',
                   default_vs_best=round(secs[auto]/best, 3))
        if per_call: row.update(fp32_per_s=round(per_call/secs[False]), bf16_per_s=round(per_call/secs[True]))
        rows.append(row)
        print(f"{kind:>8} {name:<46} fp32 {secs[False]:8.4f} s  bf16 {secs[True]:8.4f} s  "
              + (f'({row["fp32_per_s"]} vs {row["bf16_per_s"]} digits/s)  ' if per_call else '')
              + f'default {row["default"]}: {row["default_vs_best"]:.2f}x the faster', flush=True)
    if not a.skip_speed:
        for name, w in training_workloads(dev).items():
            if w is None: continue   # autoencoder_plain trains the same network as autoencoder
            measure('training', name, w[1], w[0])
        for name, build in sampling_workloads(dev).items(): measure('sampling', name, build, None)
    worst = max((r['default_vs_best'] for r in rows), default=None)
    if worst: print(f'worst: the default is {worst:.2f}x the faster precision ({"within" if worst <= 1.15 else "OVER"} the 1.15x target)')
    qual = quality(dev) if a.quality else None
    if a.out:
        from pathlib import Path
        import os
        env = {k: v for k, v in os.environ.items() if k in ('ATEN_CPU_CAPABILITY', 'ONEDNN_MAX_CPU_ISA', 'MINIDIFF_DEVICE', 'MINIDIFF_PRECISION')}
        Path(a.out).write_text(json.dumps(dict(command='python bench/bench_precision.py ' + ' '.join(argv or sys.argv[1:]), env=env,
                                               machine=rep, rows=rows, worst_default_vs_best=worst, quality=qual), indent=1) + '\n')
        print(f'wrote {a.out}')

if __name__ == '__main__': main()
