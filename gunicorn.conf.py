"""gunicorn settings, read from the working directory (Procfile, bench/)."""
import gc


def post_worker_init(worker):
    """What loading the app created lives as long as the worker: keep it out of the
    garbage collector's full passes (they showed as latency spikes)."""
    gc.freeze()


def child_exit(server, worker):
    """With PROMETHEUS_MULTIPROC_DIR, /metrics sums every worker's files: drop a dead worker's gauges."""
    import os

    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
