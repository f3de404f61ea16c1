"""The runtime behind the clients: fork safety and Ctrl-C during a blocking call."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
import warnings

import pytest

from forcelink.testing import Emulator


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork() is POSIX only")
def test_a_forked_child_gets_a_clear_error(org: Emulator) -> None:
    sf = org.client()
    sf.sobjects.describe_global()  # the runtime is running in the parent
    read_end, write_end = os.pipe()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # 3.12+ warns about fork with threads
        pid = os.fork()
    if pid == 0:  # the child
        os.close(read_end)
        try:
            sf.sobjects.describe_global()
            message = "no error"
        except RuntimeError as e:
            message = str(e)
        except BaseException as e:
            message = f"{type(e).__name__}: {e}"
        os.write(write_end, message.encode())
        os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end) as pipe:
        message = pipe.read()
    os.waitpid(pid, 0)
    assert "fork" in message, message
    # The parent is unaffected.
    assert sf.sobjects.describe_global().sobjects


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT delivery differs on Windows")
def test_ctrl_c_interrupts_a_blocking_call(org: Emulator) -> None:
    sf = org.client()
    org.inject_fault("/sobjects", status=200, delay=5.0, times=1)
    main = threading.get_ident()
    timer = threading.Timer(0.3, lambda: signal.pthread_kill(main, signal.SIGINT))
    timer.start()
    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        sf.sobjects.describe_global()
    assert time.monotonic() - started < 3.0, "the call stopped without waiting for the answer"
    assert sf.sobjects.describe_global().sobjects, "the client still works"
