"""The embedded GitHub: an API emulator (``server``) and the demo company's history (``company``)."""
