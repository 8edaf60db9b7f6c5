"""Speed of backprop-layers against PyTorch CPU, measured as ratios in one run.

Run ``python -m benchmarks`` from the repository root (``--help`` for the options). Modules:
``timing`` (interleaved pairs, the GEMM peak), ``cases`` (what is measured, at which sizes,
against what), ``memory`` (peak RSS of training, in a fresh process), ``machine`` (what it ran
on), ``report`` (rows and the Markdown table), ``run`` (the command line).
"""
