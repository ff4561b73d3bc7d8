"""What start-up does once the first frame is drawn, not before it.

Role in the flow: ``gilviz`` starts (cli -> launch -> app) and draws its first screen as
soon as Textual can; then, before any run starts, :func:`after_first_frame`:

- freezes every object made so far (modules, Textual's parsed styles, the screens) out of
  the garbage collector's reach (``gc.freeze``): they live as long as the app, and each full
  collection would otherwise walk all of them again (about 70,000 objects: 30 ms of the UI
  thread every 10-20 s while a run is shown). Nothing of a run exists yet, so nothing that
  a run leaves behind is kept;
- turns the collector back on: the launcher turns it off for start-up, whose collections
  only walked objects that were all going to be frozen (about 45 ms of the first frame's
  0.45 s here). The cycles start-up left unreachable are frozen with the rest, once: about
  4,300 objects, 0.5 MB, where collecting them would hold the UI for 26 ms;
- starts importing the chart library (plotext) in a background thread: it is needed for the
  first throughput chart, a second or more into a run. A chart drawn before that import is
  done waits for it on the module's import lock, as any import would.

plotext builds objects describing its own documentation when it is imported: about two
thirds of its import time (0.08 of 0.13 s on an idle core here, far more beside a run), for
help text gilviz never shows. :func:`import_plotext` imports it without them.
"""

from __future__ import annotations

import gc
import sys
import threading
import types

#: The module of plotext (6.x) that builds its documentation objects; only its package's
#: ``__init__`` imports it, for ``plotext.doc``.
_PLOTEXT_DOC = "plotext._doc.doc"


def import_plotext() -> None:
    """Import plotext, leaving out its documentation (``plotext.doc`` is then None). Any
    failure of that shortcut falls back to the plain import."""
    if "plotext" in sys.modules:
        return
    stub = types.ModuleType(_PLOTEXT_DOC)
    stub.docs = None  # type: ignore[attr-defined]  # what plotext/__init__ takes from it
    had = sys.modules.setdefault(_PLOTEXT_DOC, stub)
    try:
        import plotext  # noqa: F401
    except ImportError:
        # Another plotext layout: import it whole instead.
        if sys.modules.get(_PLOTEXT_DOC) is stub:
            del sys.modules[_PLOTEXT_DOC]
        for name in [n for n in sys.modules if n == "plotext" or n.startswith("plotext.")]:
            del sys.modules[name]
        import plotext  # noqa: F401, F811
    finally:
        if had is stub and sys.modules.get(_PLOTEXT_DOC) is stub:
            # Leave no stub behind: a later ``import plotext._doc.doc`` gets the real one.
            del sys.modules[_PLOTEXT_DOC]


_started = threading.Lock()
_thread: threading.Thread | None = None


def warm_up() -> threading.Thread:
    """Start importing what the first chart needs, in a daemon thread (once per process);
    returns that thread."""
    global _thread
    with _started:
        if _thread is None:
            _thread = threading.Thread(target=import_plotext, name="gilviz-imports", daemon=True)
            _thread.start()
        return _thread


def after_first_frame() -> threading.Thread:
    """Freeze what start-up made (see the module's doc), turn the collector back on (the
    launcher turns it off while the app starts up), then :func:`warm_up`."""
    gc.freeze()
    gc.enable()
    return warm_up()
