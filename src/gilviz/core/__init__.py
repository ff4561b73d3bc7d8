"""gilviz's core: everything that runs, measures, records and reports, without Textual.

Data flows one way: workloads -> runner (child process) -> sampler -> model -> views.
A test enforces that nothing under this package imports Textual.
"""
