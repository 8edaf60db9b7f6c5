"""What the figures were measured on: CPU, cores, library versions, BLAS kernel and threads."""

import contextlib
import os
import platform
from pathlib import Path

import numpy as np

OPENBLAS_VARIABLES = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")


def cpu_model():
    """The CPU's model name from /proc/cpuinfo, with its family and model numbers (a VM may
    show only a generic name); else whatever ``platform`` knows."""
    cpuinfo = Path("/proc/cpuinfo")
    if not cpuinfo.exists():
        return platform.processor() or platform.machine()
    fields = {}
    for line in cpuinfo.read_text().splitlines():
        key, _, value = line.partition(":")
        fields.setdefault(key.strip(), value.strip())
    name = fields.get("model name", platform.machine())
    if "cpu family" in fields and "model" in fields:
        name += f" (family {fields['cpu family']}, model {fields['model']})"
    return name


def numpy_blas():
    """numpy's BLAS as ``(description, thread count or None)``, read with threadpoolctl.

    The description names the library, its version and, for OpenBLAS, the kernel it chose
    (which ``OPENBLAS_CORETYPE`` overrides). Without threadpoolctl only the name is known.
    """
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        return f"{blas['name']} {blas['version']} (threadpoolctl not installed)", None
    for info in threadpool_info():
        if info["user_api"] == "blas" and "numpy" in info["filepath"]:
            kernel = f", {info['architecture']} kernel" if info.get("architecture") else ""
            description = f"{info['internal_api']} {info['version']}{kernel}"
            return description, info["num_threads"]
    return "unknown BLAS (not found by threadpoolctl)", None


@contextlib.contextmanager
def blas_threads_limited(threads):
    """Limit numpy's BLAS to ``threads`` threads inside the block (None: leave it alone)."""
    if threads is None:
        yield
        return
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        raise SystemExit("--threads needs threadpoolctl: pip install threadpoolctl") from None
    with threadpool_limits(limits=threads, user_api="blas"):
        yield


def openblas_environment():
    """``'OPENBLAS_CORETYPE=Haswell OPENBLAS_L2_SIZE=512'``, or ``'unset'``."""
    found = [f"{name}={os.environ[name]}" for name in OPENBLAS_VARIABLES if name in os.environ]
    return " ".join(found) if found else "unset"


def describe(torch, torch_threads, blas, blas_threads, torch_missing="torch not installed"):
    """The Markdown header line naming the machine and the software measured on it.

    ``torch_missing`` says why there is no torch when ``torch`` is None.
    """
    parts = [
        f"{cpu_model()}, {os.cpu_count()} cores",
        f"Python {platform.python_version()}",
        f"numpy {np.__version__} ({blas}, threads: {blas_threads or '?'}; "
        f"OPENBLAS_* {openblas_environment()})",
    ]
    if torch is None:
        parts.append(f"{torch_missing}: our side only")
    else:
        torch_blas = "MKL" if torch.backends.mkl.is_available() else "its own BLAS"
        parts.append(f"torch {torch.__version__} ({torch_blas}, threads: {torch_threads})")
    parts.append("load average %.2f at start" % os.getloadavg()[0])
    return "**Machine:** " + "; ".join(parts)
