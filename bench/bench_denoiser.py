"""Benchmark the noise predictor: training throughput with and without bf16, and its one-step error at five noise levels.
Run: python bench/bench_denoiser.py  (on an otherwise idle machine: other work on the CPU skews the speeds)"""
import torch
from minidiff.core import set_seed, precision_report
from minidiff.data import load_mnist, digits_to_float
from minidiff.noise import make_schedule
from minidiff.denoiser import UNetConfig, load_denoiser
from minidiff.lab import time_training_step, one_step_errors

print(f'torch {torch.__version__}, {torch.get_num_threads()} threads;', precision_report('cpu'))
for bs in (128,):
    fp32 = time_training_step(UNetConfig(), bs, bf16=False, n=10)
    bf16 = time_training_step(UNetConfig(), bs, bf16=True, n=10)
    print(f'training throughput, batch {bs}: fp32 {fp32:.0f} digits/s, bf16 {bf16:.0f} digits/s ({bf16/fp32:.2f}x)')

set_seed(0)
x_train, _, x_test, _ = load_mnist(verbose=False)
model, sched = load_denoiser(device='cpu'), make_schedule('cosine')
rows = one_step_errors(model, digits_to_float(x_test[:2000]), sched, [50, 250, 500, 750, 950],
                       digits_to_float(x_train).mean(0, keepdim=True))
print('one-step error on 2,000 test digits (MSE), the model beside the best constant guess:')
print(f"{'t':>4} {'alpha_bar':>9} | {'noise':>8} {'zero':>8} | {'digit':>8} {'mean digit':>10}")
for r in rows:
    print(f"{r['t']:>4} {r['alpha_bar']:>9.3f} | {r['noise_mse']:>8.4f} {r['noise_mse_const']:>8.4f} | {r['x0_mse']:>8.4f} {r['x0_mse_const']:>10.4f}")
