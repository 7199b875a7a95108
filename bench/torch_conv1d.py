"""transformers' Conv1D as the PyTorch benchmarks write it: y = b + x·W with W stored (in, out), one addmm.

Shared by bench/torch_engine.py and bench/torch_gpt2.py (run as scripts, so this directory is on sys.path).
"""
import torch


class Conv1D(torch.nn.Module):
    def __init__(self, nin, nout):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.randn(nin, nout) * 0.02)
        self.bias = torch.nn.Parameter(torch.zeros(nout))

    def forward(self, x):
        s = x.shape[:-1] + (self.weight.shape[1],)
        return torch.addmm(self.bias, x.reshape(-1, x.shape[-1]), self.weight).view(s)
