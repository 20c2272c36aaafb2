"""ra.run inside a real Jupyter kernel (nbclient): a running loop, nest-asyncio applied on demand."""

from __future__ import annotations

import asyncio

import nbformat
from nbclient import NotebookClient


def test_ra_run_finishes_a_coroutine_inside_a_running_kernel() -> None:
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_code_cell("import asyncio\nimport realavatar_nb as ra\nasyncio.get_running_loop()"),
        nbformat.v4.new_code_cell("async def answer():\n    await asyncio.sleep(0.01)\n    return 42"),
        nbformat.v4.new_code_cell("def helper():\n    return ra.run(answer())\nprint(helper())"),
        nbformat.v4.new_code_cell("print(await answer())"),
    ]
    # async_execute on asyncio.run's own loop, closed after: execute() would leave jupyter_core's loop
    # set on this thread, unclosed, for the garbage collector to trip over at the end of the session.
    asyncio.run(NotebookClient(notebook, timeout=120, kernel_name="python3").async_execute())
    outputs = [o for cell in notebook.cells for o in cell.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    assert [o["text"].strip() for o in outputs if o.get("name") == "stdout"] == ["42", "42"]
