"""Read by ``python -m auditbook.lab`` (``--config``): jupyter_server imports a pre_save_hook given as a string
from the trait's old value (None), so the callable is set here."""

from auditbook.lab import pre_save

c = get_config()  # noqa: F821 - defined by traitlets when it reads a config file
c.FileContentsManager.pre_save_hook = pre_save
# No "notified about official Jupyter news?" prompt: the lab is a work tool on a machine that may not reach the
# internet, and the prompt covers the corner of every notebook.
c.LabApp.news_url = None
