"""Running a dataset: the plan (folders and drops), where drops run (executors), one process's
worker (physics, renderer, annotation, files), the manifest of finished drops, and
:func:`generate`, which runs it all (``fat.run.driver``); ``estimate`` says what a plan will cost."""


def __getattr__(name):
    # fat.run.generate without importing the run's machinery when only fat.run.plan is wanted
    if name == "generate":
        from .driver import generate

        return generate
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
