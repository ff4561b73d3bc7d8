"""Widgets drawn line by line (``render_line``) from cached strips: a frame repaints only
the lines whose content changed, which keeps both CPU and bytes to the terminal low."""
