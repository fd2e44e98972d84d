import io
import multiprocessing
import os
import signal

import lightning as L
import pytest
import torch


class CtrlC(L.Callback):
    """Sends SIGINT to this process, as Ctrl-C does, after optimizer step ``step``."""

    def __init__(self, step: int):
        self.step = step

    def on_train_batch_end(self, trainer, *args):
        if trainer.global_step == self.step:
            os.kill(os.getpid(), signal.SIGINT)


class CountSteps(L.Callback):
    """Counts the training batches run."""

    def __init__(self):
        self.steps = 0

    def on_train_batch_end(self, *args):
        self.steps += 1


@pytest.fixture(scope="session")
def ctrl_c_after_step():
    """:class:`CtrlC`: ``ctrl_c_after_step(3)`` is a Lightning callback pressing Ctrl-C after step 3."""
    return CtrlC


@pytest.fixture(scope="session")
def count_steps():
    """:class:`CountSteps`: ``count_steps()`` is a Lightning callback counting training batches."""
    return CountSteps


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
