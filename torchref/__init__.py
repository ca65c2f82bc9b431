"""PyTorch reference runners for ``ganedge bench --compare-torch`` and benchmarks/.

Outside the torch-free runtime package on purpose: this is the one place the benchmark imports
torch, and only when a torch comparison is asked for.
"""
