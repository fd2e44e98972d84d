import io
import multiprocessing
import os
import signal

import pytest
import torch


@pytest.fixture(scope="session")
def killed_while_checkpointing():
    """Runs ``train()`` in a forked process that is killed (SIGKILL, no clean-up) halfway through
    writing the checkpoint of epoch ``epoch`` (0-based): half of its bytes are on disk. Returns
    the process' exit code."""

    def run(train, epoch: int) -> int:
        def target():
            save = torch.save

            def half_then_kill(checkpoint, file, *args, **kwargs):
                if isinstance(checkpoint, dict) and checkpoint.get("epoch") == epoch:
                    whole = io.BytesIO()
                    save(checkpoint, whole, *args, **kwargs)
                    file.write(whole.getvalue()[: whole.tell() // 2])
                    file.flush()
                    os.kill(os.getpid(), signal.SIGKILL)
                save(checkpoint, file, *args, **kwargs)

            torch.save = half_then_kill  # in the child process only
            train()

        process = multiprocessing.get_context("fork").Process(target=target)
        process.start()
        process.join(timeout=600)
        return process.exitcode

    return run
