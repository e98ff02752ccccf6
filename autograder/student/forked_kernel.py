"""A Jupyter kernel forked from this process instead of started as a new one.

A process that has already imported the heavy modules (see
``autograder.grader.sandbox.zygote``) forks the kernel here, before anything in it has
started a thread, an event loop or a zmq context, and hands nbclient a kernel manager that
adopts the child. The kernel is the same ipykernel that ``python -m ipykernel_launcher``
runs; it just skips the imports.
"""

from __future__ import annotations

import os
import signal
import traceback

from jupyter_client.connect import write_connection_file
from jupyter_client.manager import AsyncKernelManager
from jupyter_client.provisioning.local_provisioner import LocalProvisioner


class ForkedChild:
    """The part of ``subprocess.Popen`` that jupyter_client's provisioner uses, for a
    child made by ``os.fork``."""

    stdin = stdout = stderr = None

    def __init__(self, pid: int):
        self.pid = pid
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            self._reap(os.WNOHANG)
        return self.returncode

    def wait(self) -> int:
        if self.returncode is None:
            self._reap(0)
        return self.returncode

    def _reap(self, flags: int) -> None:
        try:
            pid, status = os.waitpid(self.pid, flags)
        except ChildProcessError:  # reaped already (as PID 1 of a namespace reaps all)
            self.returncode = -signal.SIGKILL
            return
        if pid:
            self.returncode = os.waitstatus_to_exitcode(status)

    def send_signal(self, signum: int) -> None:
        if self.poll() is None:
            os.kill(self.pid, signum)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)


def fork_kernel(socket_dir: str, kernel_args: list[str], close: tuple[int, ...] = ()
                ) -> AsyncKernelManager:
    """Fork an IPython kernel listening on Unix sockets in ``socket_dir``; its manager.

    The child runs in this process's working directory and environment, as a launched
    kernel would, and never returns. It closes the descriptors in ``close`` first (a
    launched kernel would not inherit them).
    """
    connection_file, _ = write_connection_file(
        os.path.join(socket_dir, "kernel.json"), ip=os.path.join(socket_dir, "kernel"),
        transport="ipc")
    # As jupyter_client's launcher sets JPY_PARENT_PID: the kernel ends when its parent does.
    kernel_args = [*kernel_args, f"--IPKernelApp.parent_handle={os.getpid()}"]
    pid = os.fork()
    if pid == 0:  # the kernel
        code = 0
        for fd in close:
            os.close(fd)
        try:
            from ipykernel.kernelapp import IPKernelApp

            IPKernelApp.launch_instance(argv=["-f", connection_file, *kernel_args])
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 0
        except BaseException:
            traceback.print_exc()
            code = 1
        os._exit(code)  # never back into the caller's stack
    km = AsyncKernelManager(connection_file=connection_file)
    km.load_connection_file()
    provisioner = LocalProvisioner(kernel_id=os.path.basename(socket_dir),
                                   kernel_spec=km.kernel_spec, parent=km)
    provisioner.process, provisioner.pid = ForkedChild(pid), pid
    km.provisioner = provisioner
    return km
