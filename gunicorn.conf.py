"""gunicorn settings, read from the working directory (Procfile, bench/)."""
import gc


def post_worker_init(worker):
    """What loading the app created lives as long as the worker: keep it out of the
    garbage collector's full passes (they showed as latency spikes)."""
    gc.freeze()
