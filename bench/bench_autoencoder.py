"""Benchmark the autoencoder: its reconstructions judged (MSE, the judge's accuracy, FID at N=2,000), and the noise
predictor's training throughput on its 4x7x7 latents against on 28x28 pixels, at the same widths.
Run: python bench/bench_autoencoder.py  (on an otherwise idle machine: other work on the CPU skews the speeds)"""
import torch
from minidiff.core import precision_report
from minidiff.denoiser import UNetConfig
from minidiff.lab import time_training_step
from minidiff.autoencoder import load_autoencoder
from minidiff.lab import reconstruction_report

print(f'torch {torch.__version__}, {torch.get_num_threads()} threads;', precision_report('cpu'))
for name in ('autoencoder', 'autoencoder_plain'):
    ae = load_autoencoder(name, device='cpu')
    print(name, reconstruction_report(ae), flush=True)

pix, lat = UNetConfig(), UNetConfig(in_ch=4, size=7)
for bs in (128, 512):
    for bf16 in (True, False):
        p = time_training_step(pix, bs, bf16=bf16, n=max(5, 2560//bs))
        l = time_training_step(lat, bs, bf16=bf16, n=max(20, 10240//bs))
        print(f"noise predictor {pix.chs}, batch {bs}, {'bf16' if bf16 else 'fp32'}: pixels 1x28x28 {p:.0f} digits/s, "
              f"latents 4x7x7 {l:.0f} digits/s ({l/p:.1f}x)", flush=True)
