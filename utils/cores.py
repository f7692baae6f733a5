"""How many CPU threads a run uses: the --threads flag of the three scripts.

``--threads 0`` (the default) leaves every library to its own choice (TensorFlow and the BLAS
under numpy take every core this process may run on). ``--threads N`` caps them at N:
TensorFlow's op thread pools (set before it is imported, through the environment variables it
reads at start-up), the BLAS and OpenMP pools (threadpoolctl), and the generator's chunk workers.

Why a cap helps: on 2 cores, the default CNN trains in 40 s with one TensorFlow thread and
in 46 s with two (its convolutions are too small to share out), so a sweep that runs two
one-thread jobs side by side does about twice the work per minute of one two-thread job at a
time. A cluster job asks the scheduler for N cores; without a cap TensorFlow would start a
thread per core of the node. Results are reproducible for a given thread count; a different
count may change the last bits of TensorFlow's sums, and with them a weight or an epoch.
"""
from __future__ import annotations

import os
import sys

_limit: int = 0          # 0: no cap was set
_pools = None            # threadpoolctl's limiter, kept alive while the cap holds


def available() -> int:
    """Cores this process may run on (its affinity mask: what SLURM's cgroup or taskset grants)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):       # not on Linux
        return os.cpu_count() or 1


def limit(threads: int) -> None:
    """Cap this process's compute threads at ``threads`` (0: no cap, every library's default)."""
    global _limit, _pools
    if threads <= 0:
        return
    _limit = threads
    for name in ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS", "OMP_NUM_THREADS"):
        os.environ[name] = str(threads)
    if "tensorflow" in sys.modules:          # imported already (a test, a notebook): set it there
        configure_tensorflow(sys.modules["tensorflow"])
    from threadpoolctl import threadpool_limits

    if _pools is not None:                   # a second call: from the pools' own defaults again
        _pools.restore_original_limits()
    _pools = threadpool_limits(limits=threads)


def configure_tensorflow(tf) -> None:
    """Set TensorFlow's op pools to the cap (models.import_keras calls it after the import)."""
    if not _limit:
        return
    try:
        tf.config.threading.set_intra_op_parallelism_threads(_limit)
        tf.config.threading.set_inter_op_parallelism_threads(_limit)
    except RuntimeError:                     # its runtime has started; its pools are fixed now
        pass


def count() -> int:
    """Threads a run may use: the cap when one is set, else every available core."""
    return _limit or available()
