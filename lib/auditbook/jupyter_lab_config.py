"""Read by ``python -m auditbook.lab`` (``--config``): jupyter_server imports a pre_save_hook given as a string
from the trait's old value (None), so the callable is set here."""

from auditbook.lab import pre_save

c = get_config()  # noqa: F821 - defined by traitlets when it reads a config file
c.FileContentsManager.pre_save_hook = pre_save
