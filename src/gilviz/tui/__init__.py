"""The terminal UI: one view of gilviz's runs, reading immutable snapshots only.

    gilviz.core (runner, sampler, model) ── RunSnapshot ──> runs.LiveController
                                                              │ polled on a timer (--fps)
                                                              v
                        screens (dashboard, race, reference, help, talk) ── widgets (render_line)

Nothing here touches /proc or a pool: the controller starts runs from the event-loop thread
(the main thread, so PR_SET_PDEATHSIG holds) and the screens read ``snapshot()`` results.
"""
