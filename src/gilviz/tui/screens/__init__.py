"""The app's screens: dashboard (default), race, reference, help, talk."""
